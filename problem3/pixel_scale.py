"""Problem 3: how the VAE's pixel scale was chosen. The likelihood N(x; g(z), I) has unit variance
in pixel levels, so the scale of the pixel values (0 to 2 * scale) sets how much a reconstruction
error weighs against the KL term: -log p(x|z) = 0.5 scale^2 ||x - g(z)||^2 + const, on images x in
[-1, 1].

Reads the first seed's VAE run and the sweep's (<results>/problem3/vae/scale-<S>/: the same settings
but the pixel scale and perhaps a shorter run, as reproduce.py trains them) and plots, against the
scale, the FID against the selection images (never the reported ones) and the held-out KL and
reconstruction error, all at the last checkpoint every run has (a shorter run is the first part of a
longer one with the same seed). Writes <results>/problem3/{pixel_scale.png, pixel_scale.csv,
pixel_scale_values.tex}.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from problem3.models import run_dir
from utils import config as cfg
from utils.cli import UserError, cli, results_dir
from utils.config import comma_list, positive_float, seed
from utils.files import read_csv, write_csv, write_json
from utils.report import plt, save_figure

DEFAULTS = {"train_seed": 0, "scales": None}


VARYING = ("pixel_scale", "run", "iterations")  # what may differ between the runs of the sweep


def read_run(path: Path) -> dict:
    """A training's run.json; one clear error if it is not readable JSON with its settings."""
    try:
        run = json.loads(path.read_text())
        run["settings"]["pixel_scale"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise UserError(
            f"{path} is unreadable or incomplete ({type(e).__name__}): rerun its "
            "training (python problem3/train_vae.py)"
        ) from None
    return run


def sweep_runs(root, reference: dict, first: Path, scales=None) -> list[dict]:
    """One row per scale: the ``first`` run's directory, then the sweep's runs (vae/scale-*/; of
    ``scales`` if given) whose settings equal ``reference``'s but for :data:`VARYING` (one per
    scale): the scale, and the monitoring FID, held-out KL and mean squared error at the last
    checkpoint step all the runs have (``step``)."""
    keep = {k: v for k, v in reference.items() if k not in VARYING}
    runs, seen = [], set()
    for summary in [first / "run.json", *sorted((root / "vae").glob("scale-*/run.json"))]:
        settings = read_run(summary)["settings"]
        wanted = scales is None or settings["pixel_scale"] in scales or summary.parent == first
        if (
            not wanted
            or {k: v for k, v in settings.items() if k not in VARYING} != keep
            or settings["pixel_scale"] in seen
        ):
            continue
        seen.add(settings["pixel_scale"])
        log_path, curve_path = summary.parent / "train_log.csv", summary.parent / "fid_curve.csv"
        if not log_path.is_file():
            raise UserError(
                f"{log_path} is missing: rerun python problem3/train_vae.py for that run"
            )
        if not curve_path.is_file():
            raise UserError(f"{curve_path} is missing: run python problem3/fid_curves.py first")
        log = {r["step"]: r for r in read_csv(log_path)}
        # the held-out measures of the log's row at each checkpoint the curve scored
        scored = {
            r["step"]: {**log.get(r["step"], {}), "fid": r["fid"]} for r in read_csv(curve_path)
        }
        runs.append((settings["pixel_scale"], summary.parent.name, scored))
    common = set.intersection(*(set(checkpoints) for _, _, checkpoints in runs)) if runs else set()
    if not common:
        return []
    last, rows, d = max(common), [], 3 * 32 * 32
    for scale, name, checkpoints in runs:
        row, step = checkpoints[last], int(last)
        mse = (row["valid_reconstruction"] - 0.5 * d * math.log(2 * math.pi)) / (0.5 * scale**2 * d)
        rows.append(
            {
                "pixel_scale": scale,
                "step": step,
                "fid": row["fid"],
                "valid_kl": row["valid_kl"],
                "valid_mse": mse,
                "run": name,
            }
        )
    return sorted(rows, key=lambda r: r["pixel_scale"])


def plot(rows: list[dict], chosen: float, path) -> None:
    pyplot = plt()
    fig, (ax, bx) = pyplot.subplots(1, 2, figsize=(8.4, 3.2))
    scales = [r["pixel_scale"] for r in rows]
    ax.plot(scales, [r["fid"] for r in rows], "-o", color="k")
    ax.axvline(chosen, color="0.5", ls=":", label=f"recipe: {chosen:g}")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="pixel scale (values 0 to 2 x scale)",
        ylabel="FID, selection images",
        title=f"VAE samples after {rows[0]['step']:,} iterations",
    )
    ax.legend()
    bx.plot(scales, [r["valid_kl"] for r in rows], "-o", color="C0", label="KL (nats per image)")
    bx.set(xscale="log", yscale="log", xlabel="pixel scale", title="held-out images")
    cx = bx.twinx()
    cx.plot(
        scales,
        [r["valid_mse"] for r in rows],
        "--s",
        color="C1",
        label="mean squared error, [-1, 1] images",
    )
    cx.set(yscale="log")
    cx.grid(False)
    bx.legend(loc="upper left", fontsize=7)
    cx.legend(loc="lower right", fontsize=7)
    save_figure(fig, path)


@cli
def main(argv=None):
    ap = cfg.parser(__doc__)
    ap.add_argument(
        "--train-seed",
        type=seed,
        help="the seed of the recipe's run the sweep was made beside "
        f"(default: {DEFAULTS['train_seed']})",
    )
    ap.add_argument(
        "--scales",
        type=comma_list(positive_float),
        help="the sweep's scales, e.g. 1,16,127.5 (default: every vae/scale-*/ run there is)",
    )
    config = cfg.resolve(ap.parse_args(argv), DEFAULTS)
    print(cfg.describe(config))
    root = results_dir("problem3", base=config["results_dir"])
    first = run_dir(root, "vae", config["train_seed"])
    if not (first / "run.json").exists():
        raise UserError(
            f"{first / 'run.json'} not found: train the VAE first (python problem3/train_vae.py)"
        )
    reference = read_run(first / "run.json")["settings"]
    rows = sweep_runs(root, reference, first, config["scales"])
    if len(rows) < 2:
        raise UserError(
            f"found {len(rows)} VAE run(s) differing only in --pixel-scale (and length) with a "
            f"checkpoint step in common under {root / 'vae'}; "
            "train them (python problem3/train_vae.py --pixel-scale S --run scale-S)"
        )
    chosen, best = reference["pixel_scale"], min(rows, key=lambda r: r["fid"])
    write_csv(root / "pixel_scale.csv", rows)
    write_json(root / "pixel_scale.json", {"chosen": chosen, "rows": rows})
    plot(rows, chosen, root / "pixel_scale.png")
    print(f"every run at iteration {best['step']:,}:")
    for r in rows:
        print(
            f"pixel scale {r['pixel_scale']:>6g}: FID {r['fid']:>9,.0f}  KL {r['valid_kl']:>8,.1f} "
            " "
            f"MSE {r['valid_mse']:.4f}  ({r['run']})"
        )


if __name__ == "__main__":
    main()
