"""What the Problem 3 scripts share: flags and settings, data preparation, sample grids."""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from problem3.data import load_training_images, parse_policy, resolve_dataset, to_model_input
from problem3.models import LATENT, run_dir
from utils import config as cfg
from utils.cli import UserError, get_device, results_dir
from utils.config import at_least, fraction, positive_float, positive_int
from utils.files import atomic_write, fingerprint, write_json
from utils.runtime import (
    device_description,
    fast_bf16,
    keep_freed_memory,
    library_versions,
    pick_profile,
    seed_everything,
)

# Settings of both trainings that no recipe changes.
TRAINING = {
    "profile": "auto",
    "dataset": "auto",
    "restart": False,
    "run": None,
}


def add_dataset_flag(ap: argparse.ArgumentParser) -> None:
    ap.add_argument(
        "--dataset",
        choices=["auto", "svhn", "svhn-partial"],
        help="training images (default auto: the official SVHN train file if present or "
        "downloadable, else svhn_partial.npz)",
    )


def training_parser(
    doc: str, model: str, defaults: dict, profiles: dict
) -> argparse.ArgumentParser:
    """The flags of a Problem 3 training script (``model`` 'vae' or 'gan'); one not given takes the
    value of the script's settings table, ``defaults`` with ``profiles`` over it
    (:func:`resolve_training`)."""
    cpu, gpu = {**defaults, **profiles["cpu"]}, {**defaults, **profiles["gpu"]}

    def recipe_help(text: str, key: str) -> str:
        small = " (svhn-partial: the cpu value)" if key in profiles.get("svhn-partial", {}) else ""
        return (
            f"{text} (default: {cpu[key]} in the cpu recipe, {gpu[key]} in the gpu recipe{small})"
        )

    ap = cfg.parser(doc)
    ap.add_argument(
        "--profile",
        choices=["auto", "cpu", "gpu"],
        help=f"recipe (the settings table of problem3/train_{model}.py; default auto: gpu on a "
        "CUDA device, else cpu)",
    )
    add_dataset_flag(ap)
    ap.add_argument(
        "--iterations", type=positive_int, help=recipe_help("generator / VAE updates", "iterations")
    )
    ap.add_argument(
        "--batch-size",
        type=at_least(2, int),
        help=recipe_help("batch size, at least 2 (batch norm needs two images)", "batch_size"),
    )
    ap.add_argument("--lr", type=positive_float, help=recipe_help("Adam learning rate", "lr"))
    ap.add_argument(
        "--width", type=positive_int, help=recipe_help("channel width of every network", "width")
    )
    ap.add_argument(
        "--ckpt-every",
        type=positive_int,
        help=recipe_help("checkpoint (and generator snapshot) every N iterations", "ckpt_every"),
    )
    ap.add_argument(
        "--restart",
        action="store_true",
        help="start over even if the checkpoint exists (else training resumes from it, and refuses "
        "a "
        "checkpoint made with other settings)",
    )
    ap.add_argument(
        "--run",
        type=run_name,
        help=f"this run's directory under <results>/problem3/{model}/ (default: seed<S>)",
    )
    ap.add_argument(
        "--ema",
        type=fraction,
        help=recipe_help(
            "decay of the generator's weight average used for sampling, in [0, 1); 0: sample the "
            "trained generator",
            "ema",
        ),
    )
    if model == "vae":
        ap.add_argument(
            "--shift",
            type=at_least(0, int),
            help=recipe_help(
                "shift each training image by up to this many pixels in each direction, filling "
                "with mid-grey (0: none)",
                "shift",
            ),
        )
        ap.add_argument(
            "--kl-warmup",
            type=at_least(0, int),
            help=recipe_help(
                "iterations over which the KL weight rises linearly from 0 to 1 (0: none)",
                "kl_warmup",
            ),
        )
        ap.add_argument(
            "--pixel-scale",
            type=positive_float,
            help=recipe_help(
                "the likelihood N(x; g(z), I) is on pixel values 0 to 2 * this (127.5: 0-255)",
                "pixel_scale",
            ),
        )
    ap.add_argument(
        "--precision",
        choices=["fp32", "bf16"],
        help=recipe_help(
            "bf16: bfloat16 autocast of the networks (float32 weights, optimiser and losses), used "
            "only where the "
            "hardware runs bfloat16 fast, else fp32",
            "precision",
        ),
    )
    if model == "gan":
        ap.add_argument(
            "--n-critic",
            type=positive_int,
            help=recipe_help("critic updates per generator update", "n_critic"),
        )
        ap.add_argument(
            "--lam", type=at_least(0), help=recipe_help("gradient-penalty weight", "lam")
        )
        ap.add_argument(
            "--gp-every",
            type=positive_int,
            help=recipe_help(
                "the penalty on every k-th critic update only, weighted k * lam (lazy "
                "regularisation)",
                "gp_every",
            ),
        )
        ap.add_argument(
            "--critic-lr",
            type=positive_float,
            help=recipe_help("the critic's Adam learning rate", "critic_lr"),
        )
        ap.add_argument(
            "--augment",
            help=recipe_help(
                "differentiable augmentations for the critic: comma-separated translation, color, "
                "cutout, or none",
                "augment",
            ),
        )
    return ap


RESERVED_RUNS = ("fid_samples",)  # folders the FID step writes beside the runs


def run_name(text: str) -> str:
    """argparse type: a plain directory name (letters, digits, '-', '_', '.'), neither a name the
    seeds' runs take (seed<S>: --seed names those) nor one a tool writes (:data:`RESERVED_RUNS`)."""
    if not text or not all(c.isalnum() or c in "-_." for c in text) or text.startswith("."):
        raise argparse.ArgumentTypeError(f"a run name is a plain directory name, got {text!r}")
    if text in RESERVED_RUNS or re.fullmatch(r"seed\d+", text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is reserved (seed<S> runs are named by --seed; fid_samples is written by "
            "problem3/fid.py)"
        )
    return text


@dataclass
class Setup:
    """Everything a Problem 3 training script starts from."""

    config: dict  # the settings in force (utils.config.resolve), printed at the start
    device: torch.device
    out: Path  # <results>/problem3/<model>/seed<seed>/
    train: torch.Tensor  # (N, 3, 32, 32) in [-1, 1], on the device
    valid: torch.Tensor  # (V, 3, 32, 32) held-out real training-distribution images, on the device
    data_sha: str  # fingerprint of the training images

    def resume_settings(self, **extra) -> dict:
        """What a resumed checkpoint must match: every setting but the run's length and checkpoint
        interval, and the training data."""
        return {
            **cfg.resume_settings(self.config, "iterations", "ckpt_every"),
            "train_images": len(self.train),
            "data": self.data_sha,
            **extra,
        }


def resolve_training(
    args: argparse.Namespace, model: str, defaults: dict, profiles: dict
) -> tuple[dict, torch.device]:
    """The settings of a training run, in one place: the shared :data:`TRAINING` <- the script's
    ``defaults`` <- ``profiles`` of the hardware profile <- of the dataset (if any) <- "quick" under
    --quick <- the flags given. bfloat16 is kept only where it is fast. Every setting is checked
    here, before any data is read or time spent; returns (settings, device)."""
    given = vars(args)
    device = get_device(given.get("device"))
    dataset = resolve_dataset(given.get("dataset", TRAINING["dataset"]), given.get("data_dir"))
    profile = pick_profile(given.get("profile", TRAINING["profile"]), device)
    config = cfg.resolve(
        args,
        TRAINING,
        defaults,
        profiles[profile],
        profiles.get(dataset, {}),
        quick=profiles["quick"],
    )
    config.update(profile=profile, dataset=dataset)
    if config.get("precision") == "bf16" and not fast_bf16(device):
        print(
            f"note: bfloat16 is not fast on {device_description(device)}; training in fp32",
            file=sys.stderr,
        )
        config["precision"] = "fp32"
    if "augment" in config:
        try:
            parse_policy(config["augment"])
        except ValueError as e:
            raise UserError(f"--augment: {e}") from None
    print(cfg.describe(config), flush=True)
    return config, device


def prepare(config: dict, device: torch.device, model: str) -> Setup:
    """Seed, let the CPU reuse freed memory, and load the training and validation images onto the
    device."""
    keep_freed_memory()  # CPU steps reuse freed activation memory, not fresh pages (utils/runtime)
    seed_everything(config["seed"])
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = (
            True  # fixed shapes: time the convolution algorithms once, keep the fastest
        )
    data = load_training_images(config["dataset"], config["data_dir"])
    out = run_dir(
        results_dir("problem3", base=config["results_dir"]), model, config["seed"], config["run"]
    )
    print(
        f"{model}: {len(data['train'])} training + {len(data['valid'])} validation images from "
        f"{data['dataset']} on {device}"
    )
    train, valid = (to_model_input(data[part]).to(device) for part in ("train", "valid"))
    return Setup(config, device, out, train, valid, fingerprint(data["train"]))


def write_run_summary(setup: Setup, model: str, rows: list[dict], step: int) -> dict:
    """After training: <out>/run.json (settings, device, wall time, data, the last log row and the
    row of the last checkpoint ``step``, with its evaluation, versions); returns it."""
    evaluated = [r for r in rows if r["step"] == step]
    summary = {
        "model": model,
        "profile": setup.config["profile"],
        "settings": setup.config,
        "step": step,
        "train_images": len(setup.train),
        "valid_images": len(setup.valid),
        "device": str(setup.device),
        "device_name": device_description(setup.device),
        "wall_s": rows[-1]["elapsed_s"],
        "final": rows[-1],
        "last_evaluation": evaluated[-1] if evaluated else {},
        **library_versions(),
        "date": time.strftime("%Y-%m-%d"),
    }
    write_json(setup.out / "run.json", summary)
    return summary


def autocast(device: torch.device, precision: str):
    """A bfloat16 autocast context for ``precision`` 'bf16', else a no-op one."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def fast_layout(module: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """``module`` on ``device``, its convolution weights channels-last on a CPU, where oneDNN's
    convolutions run faster in that layout (their inputs follow the weights'); unchanged in
    value."""
    module = module.to(device)
    return module.to(memory_format=torch.channels_last) if device.type == "cpu" else module


def save_grid(images: torch.Tensor, path: Path, nrow: int = 8) -> Path:
    """Save float images (N, 3, 32, 32) in [-1, 1] as one PNG grid."""
    from torchvision.utils import save_image

    atomic_write(
        path,
        lambda tmp: save_image(
            images.detach().cpu().clamp(-1, 1) * 0.5 + 0.5,
            tmp,
            format="png",
            nrow=nrow,
            padding=2,
            pad_value=1.0,
        ),
    )
    return path


def fixed_latents(n: int = 64, seed: int = 1234, device="cpu") -> torch.Tensor:
    """The same z ~ N(0, I) of shape (n, 100) for every grid, so grids are comparable across
    models."""
    return torch.randn(n, LATENT, generator=torch.Generator().manual_seed(seed)).to(device)
