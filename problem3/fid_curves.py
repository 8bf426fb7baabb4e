"""Problem 3: the FID of every training checkpoint, the curves that show how training went.

Training keeps a snapshot of the sampling generator at each checkpoint and computes no FID; this
scores each snapshot on the same 1,000 fixed codes against the selection images (never the reported
ones; problem3/scoring.py), with the real-data floor (1,000 real training images scored the same
way). Writes <run>/fid_curve.csv (step, fid) for each run, <results>/problem3/fid_curves.json, and
fid_curves.png: each model's curve for each training seed.

    python problem3/fid_curves.py                        # every run under problem3/{vae,gan}/
    python problem3/fid_curves.py --runs vae/seed0,gan/seed0
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

from problem3.common import add_dataset_flag
from problem3.data import load_training_images
from problem3.frechet import FidScorer
from problem3.models import MODELS
from problem3.scoring import add_fid_flags, checkpoint_fids, fid_reference
from utils import config as cfg
from utils.cli import UserError, cli, get_device, results_dir
from utils.config import at_least, comma_list
from utils.files import write_csv, write_json
from utils.report import plt, save_figure

LABELS = {"vae": "VAE", "gan": "WGAN-GP"}
DEFAULTS = {"n": 1000, "reference": "selection", "model": None, "dataset": "auto", "runs": None}


def run_path(text: str) -> str:
    """argparse type: a run as <model>/<name>, e.g. gan/seed0."""
    model, _, name = text.partition("/")
    if model not in MODELS or not name or "/" in name:
        raise argparse.ArgumentTypeError(f"a run is vae/<name> or gan/<name>, got {text!r}")
    return text


def find_runs(root: Path, names: list[str] | None) -> list[str]:
    """The runs to score: ``names``, each with its checkpoint, else every run with one."""
    if names is None:
        return [f"{m}/{p.parent.name}" for m in MODELS for p in sorted(root.glob(f"{m}/*/{m}.pt"))]
    missing = [n for n in names if not (root / n / f"{n.split('/')[0]}.pt").is_file()]
    if missing:
        raise UserError(f"no training checkpoint in {', '.join(missing)} under {root}")
    return names


def plot(curves: dict[str, list[dict]], floor: float, path: Path) -> None:
    """Each model's FID against training iterations, one line per training seed (runs seed<S>)."""
    pyplot = plt()
    fig, axes = pyplot.subplots(1, len(MODELS), figsize=(8.4, 3.2), squeeze=False, sharey=True)
    for ax, name in zip(axes[0], MODELS):
        seeds = sorted(
            (int(m.group(1)), run)
            for run in curves
            if (m := re.fullmatch(rf"{name}/seed(\d+)", run))
        )
        for k, (train_seed, run) in enumerate(seeds):
            steps, fids = zip(*[(r["step"], r["fid"]) for r in curves[run]])
            ax.plot(steps, fids, "-o", ms=3, color=f"C{k}", label=f"seed {train_seed}")
        ax.axhline(floor, color="k", ls=":", label="1,000 real training images")
        ax.set(yscale="log", xlabel="training iteration", title=LABELS[name])
        ax.legend(loc="upper right")
    axes[0][0].set_ylabel("FID (1,000 samples, log scale)")
    save_figure(fig, path)


@cli
def main(argv=None):
    ap = cfg.parser(__doc__)
    ap.add_argument(
        "--runs",
        type=comma_list(run_path),
        help="the runs to score, e.g. vae/seed0,gan/scale-4 (default: every run with a checkpoint)",
    )
    ap.add_argument(
        "--n",
        type=at_least(2, int),
        help=f"samples per checkpoint and real images for the floor (default: {DEFAULTS['n']})",
    )
    add_fid_flags(ap)
    add_dataset_flag(ap)
    config = cfg.resolve(ap.parse_args(argv), DEFAULTS)
    print(cfg.describe(config))
    device = get_device(config["device"])
    root = results_dir("problem3", base=config["results_dir"])
    runs = find_runs(root, config["runs"])
    if not runs:
        raise UserError(f"no training checkpoint under {root}: train the models first")
    # the scorer: the classifier and the selection images' statistics, loaded once
    cache = results_dir(base=config["results_dir"]) / "fid_cache"
    reference = fid_reference(config["reference"], config["data_dir"])
    scorer = FidScorer(config["model"], reference, config["data_dir"], device, cache)
    # every snapshot of every run, on the same codes
    curves = {}
    for run in runs:
        curves[run] = checkpoint_fids(
            root / run / f"{run.split('/')[0]}.pt", scorer, config["n"], device
        )
        write_csv(root / run / "fid_curve.csv", curves[run])
        last = curves[run][-1]
        print(f"{run}: FID {last['fid']:,.0f} at iteration {last['step']:,}", file=sys.stderr)
    # the floor: n real training images, drawn as problem3/fid.py draws them
    train = load_training_images(config["dataset"], config["data_dir"])["train"]
    pick = np.random.default_rng(config["seed"]).permutation(len(train))[: config["n"]]
    floor = scorer.score_images(train[pick])
    write_json(
        root / "fid_curves.json",
        {"reference": scorer.description, "settings": config, "floor_train": floor, "runs": curves},
    )
    plot(curves, floor, root / "fid_curves.png")
    print(f"FID against {scorer.description}: floor {floor:,.0f}; {len(runs)} run(s) scored")


if __name__ == "__main__":
    main()
