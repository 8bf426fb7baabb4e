"""Problem 3, Quantitative evaluation: 1,000 samples of each model as PNGs, their FID, and the real-data floor.

For each model writes <results>/problem3/<model>/fid_samples/samples/0000.png ... (the only directory in
fid_samples/, as score_fid.py expects) and scores it exactly as ``python score_fid.py <that dir>`` does,
against real SVHN test images (the official test split if present, else its first 10,000 images). The floor:
1,000 real training images, written and scored the same way; a generator that learns from training images
cannot be expected to go far below it. Also draws the FID of every training checkpoint (from the training
logs) as fid_curves.png. Writes <results>/problem3/{fid.json, fid_values.tex, fid_curves.png}.
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from problem3.common import fixed_latents, generate_uint8
from problem3.data import load_training_images
from problem3.frechet import FidScorer
from problem3.models import CHECKPOINTS, load_generator
from utils.cli import cli, common_args, positive_int
from utils.files import write_json
from utils.report import plt, read_csv, save_figure, tex_number, write_tex_values
from utils.runtime import device_description, get_device, library_versions, results_dir

LABELS = {"vae": "VAE", "gan": "WGAN-GP"}


def write_pngs(images: np.ndarray, directory: Path) -> Path:
    """Write uint8 images (N, 32, 32, 3) as directory/samples/0000.png ... (replacing the directory)."""
    if directory.exists():
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
        rows = [r for r in read_csv(root / name / "train_log.csv") if np.isfinite(r.get("fid", np.nan))]
        ax.plot([r["step"] for r in rows], [r["fid"] for r in rows], style, ms=3, label=f"{LABELS[name]} samples")
        ax.axhline(floor, color="k", ls=":", label="1,000 real training images")
        ax.set(yscale="log", xlabel="training iteration", title=LABELS[name])
        ax.legend(loc="upper right")
    axes[0][0].set_ylabel("FID (1,000 samples, log scale)")
    save_figure(fig, path)
    return path


@cli
def main(argv=None):
    ap = common_args(argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter))
    ap.add_argument("--n", type=positive_int, default=1000, help="samples per model and real images for the floor "
                                                                 "(default: 1000)")
    ap.add_argument("--reference", default="auto", choices=["auto", "svhn-test", "svhn-test-10k"],
                    help="real test images (default auto: SVHN test split if available, else its first 10,000)")
    ap.add_argument("--dataset", default="auto", choices=["auto", "svhn", "svhn-partial"],
                    help="training images for the floor (default auto, as the training scripts)")
    ap.add_argument("--model", default=None,
                    help="classifier (default: ./svhn_classifier.pt, else the data directory's)")
    args = ap.parse_args(argv)
    device = get_device(args.device)
    root = results_dir("problem3", base=args.results_dir)
    scorer = FidScorer(args.model, args.reference, args.data_dir, device)
    res = {"reference": scorer.description, "n": args.n, "device": device_description(device), **library_versions()}
    z = fixed_latents(args.n, seed=args.seed, device=device)  # the same codes for both models
    for name, ckpt in CHECKPOINTS.items():
        directory = write_pngs(generate_uint8(load_generator(root / ckpt, device), z), root / name / "fid_samples")
        res[name] = scorer.score_directory(directory)
        print(f"{LABELS[name]}: FID {res[name]:.1f} ({args.n} samples; reference: {scorer.description})")
    train = load_training_images(args.dataset, args.data_dir, seed=args.seed)["train"]
    pick = np.random.default_rng(args.seed).permutation(len(train))[:args.n]
    res["floor_train"] = scorer.score_directory(write_pngs(train[pick], root / "real_floor"))
    res["floor_n"] = len(pick)
    print(f"floor: FID {res['floor_train']:.1f} ({len(pick)} real training images)")
    write_json(root / "fid.json", res)
    fid_curves(root, res["floor_train"], root / "fid_curves.png")
    write_tex_values(root / "fid_values.tex", {"PthreeFidVae": tex_number(res["vae"], 0),
                                               "PthreeFidGan": tex_number(res["gan"], 0),
                                               "PthreeFidFloor": tex_number(res["floor_train"], 0),
                                               "PthreeFidFloorN": f"{len(pick):,}",
                                               "PthreeFidVaeOverFloor": f"{res['vae'] / res['floor_train']:.1f}",
                                               "PthreeFidGanOverFloor": f"{res['gan'] / res['floor_train']:.1f}",
                                               "PthreeFidLower": LABELS[min(CHECKPOINTS, key=res.get)],
                                               "PthreeFidReference": scorer.description,
                                               "PthreeFidN": f"{args.n:,}"})


if __name__ == "__main__":
    main()
