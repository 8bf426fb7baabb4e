"""Problem 2, Question 2.2: ELBO and importance-sampled log p(x) (K = 200) on validation and test.

Reads <results>/problem2/vae.pt; writes <results>/problem2/evaluation.json and evaluation_table.tex
(nats per image, means over each whole split).
The ELBO here is the closed-form KL with the reconstruction term averaged over the same K samples.
Also the estimate as a function of K on the first 1,000 validation images (K = 1 ... 1000, prefixes
of one draw) beside the histogram of per-image gaps log p(x) - ELBO at K = 200: is_vs_k.png and
is_vs_k.csv; and is_listing.py, the source of the Question 2.1 function and its helpers, for the
report.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from problem2.data import load_binarized_mnist
from problem2.importance_sampling import log_mean_weight, log_weight_terms, sample_posterior
from problem2.layers import fast_layers
from problem2.model import VAE, gaussian_kl
from utils import config as cfg
from utils.cli import UserError, cli, get_device, progress, results_dir
from utils.config import positive_int
from utils.files import write_csv, write_json, write_text
from utils.report import plt, save_figure
from utils.runtime import keep_freed_memory, library_versions
from utils.training import load_checkpoint, require_finished

DEFAULTS = {
    "k": 200,
    "batch_size": 100,
    "checkpoint": None,
    "allow_unfinished": False,
    "eval_images": None,
    "sweep_images": 1000,
    "sweep_max_k": 1000,
}
# a smoke run on part of each split
QUICK = {
    "eval_images": 500,
    "sweep_images": 100,
    "sweep_max_k": 50,
}


def load_vae(path: Path, device, allow_unfinished: bool = False) -> tuple[VAE, dict]:
    """The trained VAE of a Problem 2 checkpoint, in eval mode, and what it is: {checkpoint, step,
    settings}."""
    state = load_checkpoint(path, device)
    step = require_finished(state, path, allow_unfinished)
    model = fast_layers(VAE()).to(device)  # the same VAE, faster kernels (problem2/layers.py)
    try:
        model.load_state_dict(state["modules"]["vae"])
    except (KeyError, RuntimeError) as e:
        raise UserError(f"{path} is not a checkpoint of this VAE ({type(e).__name__})") from None
    return model.eval(), {"checkpoint": str(path), "step": step, "settings": state.get("settings")}


@torch.inference_mode()
def evaluate_split(model: VAE, x: np.ndarray, k: int, batch_size: int, seed: int, device) -> dict:
    """Per-image ELBO and log p(x) estimate for all of x (N, 1, 28, 28); returns means and arrays.

    log p(x) is importance_sampling_log_likelihood's computation, split in two so that the same
    decoder pass also gives the ELBO's reconstruction term."""
    gen = torch.Generator(device=device).manual_seed(seed)
    elbos, lls = [], []
    for i in progress(range(0, len(x), batch_size), desc=f"IS K={k}", leave=False):
        xb = torch.from_numpy(x[i : i + batch_size]).to(device).flatten(1)  # (M, 784)
        z = sample_posterior(model, xb, k, gen)  # (M, K, L)
        log_lik, log_prior, log_q = log_weight_terms(model, xb, z)  # each (M, K), one decoder pass
        lls.append(log_mean_weight(log_lik, log_prior, log_q))
        mu, logvar = model.encode(xb.view(-1, 1, 28, 28))
        elbos.append(log_lik.mean(1) - gaussian_kl(mu, logvar))
    elbo, ll = torch.cat(elbos).cpu().numpy(), torch.cat(lls).cpu().numpy()
    return {
        "elbo": float(elbo.mean()),
        "log_px": float(ll.mean()),
        "n": len(x),
        "elbo_per_image": elbo,
        "log_px_per_image": ll,
    }


SWEEP_KS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


@torch.inference_mode()
def k_sweep(
    model: VAE, x: np.ndarray, ks=SWEEP_KS, batch_size: int = 20, seed: int = 1, device="cpu"
) -> dict:
    """Mean importance-sampled log p(x) over images x (N, 1, 28, 28) for every K in ``ks``, and the
    mean ELBO (nats per image). Each image draws max(ks) samples once; the estimate at K uses the
    first K of them, so the curve shows one estimator as K grows (its expectation rises with K
    towards log p(x); K = 1 is the single-sample ELBO estimate)."""
    gen = torch.Generator(device=device).manual_seed(seed)
    sums, elbo = np.zeros(len(ks)), 0.0
    for i in progress(range(0, len(x), batch_size), desc=f"IS K=1..{max(ks)}", leave=False):
        xb = torch.from_numpy(x[i : i + batch_size]).to(device).flatten(1)
        # each (M, max K)
        terms = log_weight_terms(model, xb, sample_posterior(model, xb, max(ks), gen))
        sums += [log_mean_weight(*(t[:, :k] for t in terms)).sum().item() for k in ks]
        mu, logvar = model.encode(xb.view(-1, 1, 28, 28))
        elbo += (terms[0].mean(1) - gaussian_kl(mu, logvar)).sum().item()
    return {"k": list(ks), "log_px": (sums / len(x)).tolist(), "elbo": elbo / len(x), "n": len(x)}


def plot_k_sweep(sweep: dict, gaps: np.ndarray, k: int, path: Path) -> Path:
    """Left: mean estimate vs K (log axis) with the ELBO; right: histogram of per-image gaps at K =
    ``k``."""
    pyplot = plt()
    fig, (ax, bx) = pyplot.subplots(1, 2, figsize=(8.4, 3.2))
    ax.plot(sweep["k"], sweep["log_px"], "-o", color="k", ms=4, label="importance-sampled estimate")
    ax.axhline(sweep["elbo"], color="0.4", ls="--", label="ELBO")
    if k in sweep["k"]:
        ax.plot(
            [k],
            [sweep["log_px"][sweep["k"].index(k)]],
            "s",
            ms=9,
            mfc="none",
            mec="k",
            label=f"K = {k}",
        )
    ax.set(
        xscale="log",
        xlabel="K (importance samples per image)",
        ylabel="mean log p(x) (nats per image)",
        title=f"{sweep['n']:,} validation images",
    )
    ax.legend(loc="lower right")
    bx.hist(gaps, bins=60, color="0.55", edgecolor="k", linewidth=0.3)
    bx.axvline(gaps.mean(), color="k", ls="--", label=f"mean {gaps.mean():.2f}")
    bx.set(
        xlabel=f"log p(x) (K = {k}) - ELBO (nats)",
        ylabel="images",
        title=f"all {len(gaps):,} validation images",
    )
    bx.legend(loc="upper right")
    save_figure(fig, path)
    return path


def write_listing(path: Path) -> Path:
    """The report's listing for Question 2.1: the assignment's function and the helpers it calls, as
    source."""
    import inspect

    from problem2 import importance_sampling as ism

    parts = [
        ism.importance_sampling_log_likelihood,
        ism.log_weight_terms,
        ism.log_mean_weight,
        ism.log_normal,
    ]
    text = "\n\n".join(inspect.getsource(f).rstrip() for f in parts) + "\n"
    return write_text(path, text)


def latex_table(res: dict, k: int) -> str:
    rows = "\n".join(
        f"{name} & {res[s]['n']} & {res[s]['elbo']:.2f} & {res[s]['log_px']:.2f} \\\\"
        for s, name in (("valid", "Validation"), ("test", "Test"))
    )
    return (
        "\\begin{tabular}{lrrr}\n\\toprule\nSplit & $N$ & ELBO & $\\log p(x)$ (IS, $K="
        + str(k)
        + "$) \\\\\n"
        "\\midrule\n" + rows + "\n\\bottomrule\n\\end{tabular}\n"
    )


@cli
def main(argv=None):
    ap = cfg.parser(__doc__)
    ap.add_argument(
        "--k", type=positive_int, help=f"importance samples per image (default: {DEFAULTS['k']})"
    )
    ap.add_argument(
        "--batch-size",
        type=positive_int,
        help=f"images per batch, M (default: {DEFAULTS['batch_size']})",
    )
    ap.add_argument("--checkpoint", help="the trained VAE (default: <results>/problem2/vae.pt)")
    ap.add_argument(
        "--allow-unfinished",
        action="store_true",
        help="evaluate a checkpoint whose training has not finished (its step is recorded)",
    )
    ap.add_argument(
        "--eval-images",
        type=positive_int,
        help="evaluate a seeded random N images of each split "
        f"(default: all; --quick: {QUICK['eval_images']})",
    )
    ap.add_argument(
        "--sweep-images",
        type=positive_int,
        help="validation images of the K sweep "
        f"(default: {DEFAULTS['sweep_images']}; --quick: {QUICK['sweep_images']})",
    )
    ap.add_argument(
        "--sweep-max-k",
        type=positive_int,
        help="largest K of the sweep "
        f"(default: {DEFAULTS['sweep_max_k']}; --quick: {QUICK['sweep_max_k']})",
    )
    config = cfg.resolve(ap.parse_args(argv), DEFAULTS, quick=QUICK)
    print(cfg.describe(config))
    k = config["k"]
    out = results_dir("problem2", base=config["results_dir"])
    device = get_device(config["device"])
    keep_freed_memory()  # CPU steps reuse freed activation memory, not fresh pages (utils/runtime)
    model, source = load_vae(
        Path(config["checkpoint"] or out / "vae.pt"), device, config["allow_unfinished"]
    )
    data = load_binarized_mnist(config["data_dir"])
    res, gaps, t0 = {}, {}, time.time()
    for split in ("valid", "test"):
        x = data[split]
        if config["eval_images"]:  # a seeded random subset: the test split is ordered by class
            x = x[
                np.random.default_rng(config["seed"]).permutation(len(x))[: config["eval_images"]]
            ]
        r = evaluate_split(model, x, k, config["batch_size"], config["seed"], device)
        res[split] = {key: v for key, v in r.items() if not key.endswith("per_image")}
        gaps[split] = r["log_px_per_image"] - r["elbo_per_image"]
        print(
            f"{split}: ELBO {r['elbo']:.2f}  log p(x) {r['log_px']:.2f} nats ({r['n']} images, K = "
            f"{k})"
        )
    sweep_ks = [n for n in SWEEP_KS if n <= config["sweep_max_k"]]
    sweep = k_sweep(model, data["valid"][: config["sweep_images"]], sweep_ks, device=device)
    print(
        "log p(x) vs K: "
        + ", ".join(f"{n}: {v:.2f}" for n, v in zip(sweep["k"], sweep["log_px"]))
        + f"; ELBO {sweep['elbo']:.2f} ({sweep['n']} validation images)"
    )
    write_csv(
        out / "is_vs_k.csv",
        [{"k": n, "log_px": v, "elbo": sweep["elbo"]} for n, v in zip(sweep["k"], sweep["log_px"])],
    )
    plot_k_sweep(sweep, gaps["valid"], k, out / "is_vs_k.png")
    write_listing(out / "is_listing.py")
    res.update(
        k=k,
        settings=config,
        model=source,
        seconds=time.time() - t0,
        device=str(device),
        k_sweep=sweep,
        mean_gap_valid=float(gaps["valid"].mean()),
        **library_versions(),
    )
    write_json(out / "evaluation.json", res)
    write_text(out / "evaluation_table.tex", latex_table(res, k))
    print(
        f"wrote {out / 'evaluation.json'} and {out / 'evaluation_table.tex'} in "
        f"{res['seconds']:.0f} s"
    )


if __name__ == "__main__":
    main()
