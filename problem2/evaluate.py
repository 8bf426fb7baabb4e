"""Problem 2, Question 2.2: ELBO and importance-sampled log p(x) (K = 200) on validation and test.

Reads <results>/problem2/vae.pt; writes <results>/problem2/evaluation.json and evaluation_table.tex
(nats per image, means over each whole split).
The ELBO here is the closed-form KL with the reconstruction term averaged over the same K samples.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from problem2.data import load_binarized_mnist  # noqa: E402
from problem2.importance_sampling import log_mean_weight, log_weight_terms, sample_posterior  # noqa: E402
from problem2.model import VAE, gaussian_kl  # noqa: E402
from utils import (  # noqa: E402
    UserError,
    atomic_write,
    cli,
    common_args,
    get_device,
    load_checkpoint,
    positive_int,
    progress,
    results_dir,
    tex_number,
    write_tex_values,
)


def load_vae(path: Path, device) -> VAE:
    state = load_checkpoint(path, device)
    model = VAE().to(device)
    try:
        model.load_state_dict(state["modules"]["vae"])
    except (KeyError, RuntimeError) as e:
        raise UserError(f"{path} is not a checkpoint of this VAE ({type(e).__name__})") from None
    return model.eval()


@torch.inference_mode()
def evaluate_split(model: VAE, x: np.ndarray, k: int, batch_size: int, seed: int, device) -> dict:
    """Per-image ELBO and log p(x) estimate for all of x (N, 1, 28, 28); returns means and arrays.

    log p(x) is importance_sampling_log_likelihood's computation, split in two so that the same decoder
    pass also gives the ELBO's reconstruction term."""
    gen = torch.Generator(device=device).manual_seed(seed)
    elbos, lls = [], []
    for i in progress(range(0, len(x), batch_size), desc=f"IS K={k}", leave=False):
        xb = torch.from_numpy(x[i:i + batch_size]).to(device).flatten(1)   # (M, 784)
        z = sample_posterior(model, xb, k, gen)                            # (M, K, L)
        log_lik, log_prior, log_q = log_weight_terms(model, xb, z)       # each (M, K), one decoder pass
        lls.append(log_mean_weight(log_lik, log_prior, log_q))
        mu, logvar = model.encode(xb.view(-1, 1, 28, 28))
        elbos.append(log_lik.mean(1) - gaussian_kl(mu, logvar))
    elbo, ll = torch.cat(elbos).cpu().numpy(), torch.cat(lls).cpu().numpy()
    return {"elbo": float(elbo.mean()), "log_px": float(ll.mean()), "n": len(x), "elbo_per_image": elbo,
            "log_px_per_image": ll}


def latex_table(res: dict, k: int) -> str:
    rows = "\n".join(f"{name} & {res[s]['n']} & {res[s]['elbo']:.2f} & {res[s]['log_px']:.2f} \\\\"
                     for s, name in (("valid", "Validation"), ("test", "Test")))
    return ("\\begin{tabular}{lrrr}\n\\toprule\nSplit & $N$ & ELBO & $\\log p(x)$ (IS, $K=" + str(k) + "$) \\\\\n"
            "\\midrule\n" + rows + "\n\\bottomrule\n\\end{tabular}\n")


@cli
def main(argv=None):
    ap = common_args(argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter))
    ap.add_argument("--k", type=positive_int, default=200, help="importance samples per image (default: 200)")
    ap.add_argument("--batch-size", type=positive_int, default=100, help="images per batch, M (default: 100)")
    ap.add_argument("--checkpoint", default=None, help="default: <results>/problem2/vae.pt")
    args = ap.parse_args(argv)
    out = results_dir("problem2", base=args.results_dir)
    device = get_device(args.device)
    model = load_vae(Path(args.checkpoint) if args.checkpoint else out / "vae.pt", device)
    data = load_binarized_mnist(args.data_dir)
    res, t0 = {}, time.time()
    for split in ("valid", "test"):
        x = data[split]
        if args.quick:  # a smoke run on 500 shuffled images per split
            x = x[np.random.default_rng(args.seed).permutation(len(x))[:500]]
        r = evaluate_split(model, x, args.k, args.batch_size, args.seed, device)
        res[split] = {k: v for k, v in r.items() if not k.endswith("per_image")}
        print(f"{split}: ELBO {r['elbo']:.2f}  log p(x) {r['log_px']:.2f} nats ({r['n']} images, K = {args.k})")
    res.update(k=args.k, quick=args.quick, seconds=time.time() - t0, device=str(device))
    atomic_write(out / "evaluation.json", lambda tmp: Path(tmp).write_text(json.dumps(res, indent=1)))
    atomic_write(out / "evaluation_table.tex", lambda tmp: Path(tmp).write_text(latex_table(res, args.k)))
    write_tex_values(out / "evaluation_values.tex", {
        "PtwoValidElbo": tex_number(res["valid"]["elbo"], 2), "PtwoValidLogpx": tex_number(res["valid"]["log_px"], 2),
        "PtwoTestElbo": tex_number(res["test"]["elbo"], 2), "PtwoTestLogpx": tex_number(res["test"]["log_px"], 2),
        "PtwoK": str(args.k), "PtwoEvalSeconds": f"{res['seconds']:.0f}"})
    print(f"wrote {out / 'evaluation.json'} and {out / 'evaluation_table.tex'} in {res['seconds']:.0f} s")


if __name__ == "__main__":
    main()
