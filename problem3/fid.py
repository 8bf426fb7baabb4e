"""Problem 3, Quantitative evaluation: 1,000 samples of each model as PNGs, their FID, and the real-data floor.

For each model writes <results>/problem3/<model>/fid_samples/samples/0000.png ... (the only directory in
fid_samples/, as score_fid.py expects) and scores it exactly as ``python score_fid.py <that dir>`` does,
against real SVHN test images (the official test split if present, else its first 10,000 images). The floor:
1,000 real training images, written and scored the same way; a generator that learns from training images
cannot be expected to go far below it. Also draws the FID of every training checkpoint (from the training
logs) as fid_curves.png. Writes <results>/problem3/{fid.json, fid_values.tex, fid_curves.png}.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from problem3.common import add_dataset_flag, add_fid_flags, fixed_latents, generate_uint8
from problem3.data import load_training_images
from problem3.frechet import FidScorer
from problem3.models import CHECKPOINTS, load_generator
from utils import config as cfg
from utils.cli import cli, int_at_least
from utils.files import write_json
from utils.report import plt, read_csv, save_figure, tex_number, write_tex_values
from utils.runtime import device_description, get_device, library_versions, results_dir

LABELS = {"vae": "VAE", "gan": "WGAN-GP"}


def write_pngs(images: np.ndarray, directory: Path) -> Path:
    """Write uint8 images (N, 32, 32, 3) as directory/samples/0000.png ... (replacing the directory; a symbolic
    link there is removed, never followed)."""
    if directory.is_symlink() or directory.is_file():
        directory.unlink()
    elif directory.exists():
        shutil.rmtree(directory)
    (directory / "samples").mkdir(parents=True)
    for i, img in enumerate(images):
        Image.fromarray(img).save(directory / "samples" / f"{i:04d}.png")
    return directory


def fid_curves(root: Path, floor: float, path: Path) -> Path:
    """FID of each model at every training checkpoint (from its train_log.csv), with the real-data floor."""
    pyplot = plt()
    fig, axes = pyplot.subplots(1, len(CHECKPOINTS), figsize=(8.4, 3.2), squeeze=False, sharey=True)
    for ax, (name, style) in zip(axes[0], zip(CHECKPOINTS, ("-o", "--s"))):
        log = root / name / "train_log.csv"
        if not log.exists():
            print(f"note: {log} is missing: no FID curve for {LABELS[name]}", file=sys.stderr)
            continue
        rows = [r for r in read_csv(log) if np.isfinite(r.get("fid", np.nan))]
        ax.plot([r["step"] for r in rows], [r["fid"] for r in rows], style, ms=3, label=f"{LABELS[name]} samples")
        ax.axhline(floor, color="k", ls=":", label="1,000 real training images")
        ax.set(yscale="log", xlabel="training iteration", title=LABELS[name])
        ax.legend(loc="upper right")
    axes[0][0].set_ylabel("FID (1,000 samples, log scale)")
    save_figure(fig, path)
    return path


DEFAULTS = {"n": 1000, "reference": "auto", "dataset": "auto", "model": None, "allow_unfinished": False}


@cli
def main(argv=None):
    ap = cfg.parser(__doc__)
    ap.add_argument("--n", type=int_at_least(2),
                    help=f"samples per model and real images for the floor (default: {DEFAULTS['n']})")
    add_fid_flags(ap)
    add_dataset_flag(ap)
    ap.add_argument("--allow-unfinished", action="store_true",
                    help="score checkpoints whose training has not finished (their steps are recorded)")
    config = cfg.resolve(ap.parse_args(argv), DEFAULTS)
    print(cfg.describe(config))
    device = get_device(config["device"])
    root = results_dir("problem3", base=config["results_dir"])
    models = {name: load_generator(root / ckpt, device, name, config["allow_unfinished"])
              for name, ckpt in CHECKPOINTS.items()}  # both checked before anything is scored
    scorer = FidScorer(config["model"], config["reference"], config["data_dir"], device)
    n = config["n"]
    res = {"reference": scorer.description, "n": n, "settings": config, "device": device_description(device),
           **library_versions()}
    z = fixed_latents(n, seed=config["seed"], device=device)  # the same codes for both models
    for name, (g, source) in models.items():
        directory = write_pngs(generate_uint8(g, z), root / name / "fid_samples")
        res[name] = scorer.score_directory(directory)
        res[f"{name}_model"] = source
        print(f"{LABELS[name]}: FID {res[name]:.1f} ({n} samples; reference: {scorer.description})")
    train = load_training_images(config["dataset"], config["data_dir"], seed=config["seed"])["train"]
    pick = np.random.default_rng(config["seed"]).permutation(len(train))[:n]
    res["floor_train"] = scorer.score_directory(write_pngs(train[pick], root / "real_floor"))
    res["floor_n"] = len(pick)
    print(f"floor: FID {res['floor_train']:.1f} ({len(pick)} real training images)")
    fid_curves(root, res["floor_train"], root / "fid_curves.png")
    write_json(root / "fid.json", res)
    write_tex_values(root / "fid_values.tex", {"PthreeFidVae": tex_number(res["vae"], 0),
                                               "PthreeFidGan": tex_number(res["gan"], 0),
                                               "PthreeFidFloor": tex_number(res["floor_train"], 0),
                                               "PthreeFidFloorN": f"{len(pick):,}",
                                               "PthreeFidVaeOverFloor": f"{res['vae'] / res['floor_train']:.1f}",
                                               "PthreeFidGanOverFloor": f"{res['gan'] / res['floor_train']:.1f}",
                                               "PthreeFidLower": LABELS[min(CHECKPOINTS, key=res.get)],
                                               "PthreeFidReference": scorer.description,
                                               "PthreeFidN": f"{n:,}"})


if __name__ == "__main__":
    main()
