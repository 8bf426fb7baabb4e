"""What the Problem 3 scripts share: flags and recipes, data preparation, the FID monitor, sample grids."""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from problem3.data import load_training_images, to_model_input, to_uint8
from problem3.frechet import FidScorer
from problem3.models import LATENT
from problem3.recipes import RECIPES, SMALL_SET, apply_recipe, native_bf16, pick_profile
from utils.cli import common_args, positive_int
from utils.files import atomic_write, fingerprint, write_json
from utils.report import write_tex_values
from utils.runtime import device_description, get_device, library_versions, results_dir, seed_everything
from utils.training import ResumableRun


def training_parser(doc: str, model: str) -> argparse.ArgumentParser:
    """The flags of a Problem 3 training script; recipe settings default to None (filled by the profile)."""
    cpu, gpu = RECIPES["cpu"][model], RECIPES["gpu"][model]

    def recipe_help(text: str, key: str) -> str:
        small = " (svhn-partial: the cpu value)" if key in SMALL_SET.get(model, {}) else ""
        return f"{text} (default: {cpu[key]} in the cpu recipe, {gpu[key]} in the gpu recipe{small})"

    ap = common_args(argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter))
    ap.add_argument("--profile", default="auto", choices=["auto", "cpu", "gpu"],
                    help="recipe (problem3/recipes.py); auto: gpu on a CUDA device, else cpu; explicit flags win")
    ap.add_argument("--dataset", default="auto", choices=["auto", "svhn", "svhn-partial"],
                    help="training images (default auto: official SVHN train if present or downloadable, "
                         "else svhn_partial.npz)")
    ap.add_argument("--iterations", type=positive_int, default=None,
                    help=recipe_help("generator / VAE updates", "iterations"))
    ap.add_argument("--batch-size", type=positive_int, default=None, help=recipe_help("batch size", "batch_size"))
    ap.add_argument("--lr", type=float, default=None, help=recipe_help("Adam learning rate", "lr"))
    ap.add_argument("--width", type=positive_int, default=None,
                    help=recipe_help("channel width of every network", "width"))
    ap.add_argument("--ckpt-every", type=positive_int, default=None,
                    help=recipe_help("checkpoint, monitoring and FID every N iterations", "ckpt_every"))
    ap.add_argument("--fid-samples", type=positive_int, default=1000,
                    help="samples (fixed latents) per monitoring FID (default: 1000)")
    ap.add_argument("--reference", default="auto", choices=["auto", "svhn-test", "svhn-test-10k"],
                    help="FID reference (default auto: SVHN test split, else its first 10,000 images)")
    ap.add_argument("--model", default=None, help="classifier for FID (default: ./svhn_classifier.pt, else the "
                                                  "one in the data directory)")
    ap.add_argument("--restart", action="store_true",
                    help="start over even if the checkpoint exists (else training resumes from it, and refuses a "
                         "checkpoint made with other settings)")
    if model == "vae":
        ap.add_argument("--kl-warmup", type=int, default=None, help=recipe_help(
            "iterations over which the KL weight rises linearly from 0 to 1 (0: none)", "kl_warmup"))
    if model == "gan":
        ap.add_argument("--n-critic", type=positive_int, default=None,
                        help=recipe_help("critic updates per generator update", "n_critic"))
        ap.add_argument("--lam", type=float, default=None, help=recipe_help("gradient-penalty weight", "lam"))
        ap.add_argument("--augment", default=None, help=recipe_help(
            "differentiable augmentations for the critic: comma-separated translation, color, cutout, or none",
            "augment"))
        ap.add_argument("--ema", type=float, default=None, help=recipe_help(
            "decay of the generator's weight average used for sampling; 0: sample the trained generator", "ema"))
        ap.add_argument("--precision", default=None, choices=["fp32", "bf16"], help=recipe_help(
            "bf16: bfloat16 autocast of the networks (float32 weights, optimiser and penalty norm), used only "
            "where the hardware runs bfloat16 natively, else fp32", "precision"))
    return ap


@dataclass
class TrainingRun:
    """Everything a Problem 3 training script starts from."""
    train: torch.Tensor      # (N, 3, 32, 32) in [-1, 1], on the device
    valid: torch.Tensor      # (V, 3, 32, 32) held-out real training-distribution images, on the device
    device: torch.device
    out: Path                # <results>/problem3/<model>/
    profile: str             # cpu or gpu
    settings: dict           # the recipe settings in force (explicit flags included)
    dataset: str             # svhn or svhn-partial
    data_sha: str            # fingerprint of the training images

    def checkpoint_settings(self, seed: int, **extra) -> dict:
        """What a resumed checkpoint must match: the recipe settings but its length and checkpoint interval,
        the training data and the seed (utils.training.ResumableRun refuses a checkpoint made with others)."""
        keep = {k: v for k, v in self.settings.items() if k not in ("iterations", "ckpt_every")}
        return {**keep, "dataset": self.dataset, "train_images": len(self.train), "data": self.data_sha,
                "seed": seed, **extra}

    def fit(self, name: str, desc: str, modules: dict, optimizers: dict, step: Callable[[int], dict],
            checkpoint_metrics: Callable[[], dict], *, seed: int, restart: bool, **extra_settings) -> list[dict]:
        """Problem 3's resumable loop: ``step(i)``'s metrics make a log row every iteration; every ckpt_every
        iterations and at the end, ``checkpoint_metrics()`` (monitoring, FID) joins the row and <out>/<name>.pt is
        written. ``extra_settings`` join :meth:`checkpoint_settings`. Returns the log rows."""
        settings = self.checkpoint_settings(seed, **extra_settings)
        with ResumableRun(self.out / f"{name}.pt", self.out / "train_log.csv", modules, optimizers, desc=desc,
                          num_steps=self.settings["iterations"], settings=settings,
                          meta={"width": self.settings["width"]}, restart=restart) as training:
            for i in training.steps():
                training.log(i, step(i))
                if training.due(i, self.settings["ckpt_every"]):
                    training.checkpoint(checkpoint_metrics)
        return training.history


def prepare(args, model: str) -> TrainingRun:
    """Seed, resolve the recipe, load the training and validation images onto the device."""
    seed_everything(args.seed)
    device = get_device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: time the convolution algorithms once, keep the fastest
    profile = pick_profile(args.profile, device)
    data = load_training_images(args.dataset, args.data_dir, seed=args.seed)
    settings = apply_recipe(args, model, profile, data["dataset"])
    if settings.get("precision") == "bf16" and not native_bf16(device):
        print(f"note: no native bfloat16 on {device}; training in fp32", file=sys.stderr)
        settings["precision"] = args.precision = "fp32"
    out = results_dir("problem3", model, base=args.results_dir)
    print(f"{model}: {len(data['train'])} training + {len(data['valid'])} validation images from "
          f"{data['dataset']} on {device}; {profile} recipe {settings}")
    return TrainingRun(to_model_input(data["train"]).to(device), to_model_input(data["valid"]).to(device), device,
                       out, profile, settings, data["dataset"], fingerprint(data["train"]))


def write_run_summary(run: TrainingRun, model: str, rows: list[dict], extra: dict | None = None) -> None:
    """After training: <out>/run.json (recipe, device, wall time, data, versions) and values.tex for the report."""
    summary = {"model": model, "profile": run.profile, "settings": run.settings, "dataset": run.dataset,
               "train_images": len(run.train), "valid_images": len(run.valid), "device": str(run.device),
               "device_name": device_description(run.device), "wall_s": rows[-1]["elapsed_s"], "final": rows[-1],
               **library_versions(), "date": time.strftime("%Y-%m-%d"), **(extra or {})}
    write_json(run.out / "run.json", summary)
    tag = model.capitalize()
    values = {"Iterations": run.settings["iterations"], "Lr": f"{run.settings['lr']:g}", "Width": run.settings["width"],
              "Batch": run.settings["batch_size"], "Images": len(run.train), "Dataset": run.dataset,
              "Profile": run.profile, "Device": summary["device_name"], "Minutes": f"{summary['wall_s'] / 60:.1f}"}
    checkpoints = [r for r in rows if "valid_kl" in r]
    if checkpoints:  # the VAE's held-out KL at the last checkpoint, nats per image
        values["ValidKl"] = f"{checkpoints[-1]['valid_kl']:,.0f}"
    values.update({k.replace("_", " ").title().replace(" ", ""): v for k, v in run.settings.items()
                   if k not in ("iterations", "lr", "width", "batch_size", "ckpt_every")})
    write_tex_values(run.out / "values.tex", {f"Pthree{tag}{k}": str(v) for k, v in values.items()})


def autocast(device: torch.device, precision: str):
    """A bfloat16 autocast context for ``precision`` 'bf16', else a no-op one."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


class FidMonitor:
    """FID of g(z) for a fixed set of latent codes, against the cached reference statistics (problem3.frechet)."""

    def __init__(self, args, device: torch.device, n: int):
        self.scorer = FidScorer(args.model, args.reference, args.data_dir, device)
        self.z = fixed_latents(n, seed=4321, device=device)

    @torch.no_grad()
    def __call__(self, g) -> float:
        return self.scorer.score_images(generate_uint8(g, self.z))


@torch.no_grad()
def generate_uint8(g, z: torch.Tensor, batch_size: int = 500) -> np.ndarray:
    """uint8 images (N, 32, 32, 3) of g(z) for z (N, 100), in batches, g in eval mode."""
    was_training = g.training
    g.eval()
    images = np.concatenate([to_uint8(g(z[i:i + batch_size])) for i in range(0, len(z), batch_size)])
    g.train(was_training)
    return images


def save_grid(images: torch.Tensor, path: Path, nrow: int = 8) -> Path:
    """Save float images (N, 3, 32, 32) in [-1, 1] as one PNG grid."""
    from torchvision.utils import save_image

    atomic_write(path, lambda tmp: save_image(images.detach().cpu().clamp(-1, 1) * 0.5 + 0.5, tmp, format="png",
                                              nrow=nrow, padding=2, pad_value=1.0))
    return path


def fixed_latents(n: int = 64, seed: int = 1234, device="cpu") -> torch.Tensor:
    """The same z ~ N(0, I) of shape (n, 100) for every grid, so grids are comparable across models."""
    return torch.randn(n, LATENT, generator=torch.Generator().manual_seed(seed)).to(device)
