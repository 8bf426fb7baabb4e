"""What the Problem 3 scripts share: flags, data preparation, sample grids."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from problem3.data import load_training_images, to_model_input
from problem3.models import LATENT
from utils import common_args, get_device, results_dir, seed_everything, write_tex_values


def training_parser(doc: str, iterations: int, lr: float, batch_size: int = 64) -> argparse.ArgumentParser:
    ap = common_args(argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter))
    ap.add_argument("--dataset", default="auto", choices=["auto", "svhn", "svhn-partial"],
                    help="auto: official SVHN if present or downloadable, else svhn_partial.npz")
    ap.add_argument("--iterations", type=int, default=iterations, help="generator / VAE updates")
    ap.add_argument("--batch-size", type=int, default=batch_size)
    ap.add_argument("--lr", type=float, default=lr, help="Adam learning rate")
    ap.add_argument("--width", type=int, default=32,
                    help="channel width of generator / encoder / critic (32 for CPU runs; 64 for full SVHN on a GPU)")
    ap.add_argument("--ckpt-every", type=int, default=200, help="checkpoint and sample grid every N iterations")
    return ap


def prepare(args, name: str, **extra_values) -> tuple[torch.Tensor, torch.device, Path]:
    """Training images as a float tensor (N, 3, 32, 32) in [-1, 1] on the device, the device, the output dir.
    Also writes the run's settings as <out>/values.tex for the report (``extra_values``: more of them)."""
    seed_everything(args.seed)
    data = load_training_images(args.dataset, args.data_dir, seed=args.seed)
    device = get_device(args.device)
    out = results_dir("problem3", name, base=args.results_dir)
    (out / "dataset.json").write_text(json.dumps({"dataset": data["dataset"], "train_images": len(data["train"])}))
    print(f"{name}: {len(data['train'])} training images from {data['dataset']} on {device}")
    tag = name.capitalize()
    write_tex_values(out / "values.tex", {
        f"Pthree{tag}Iterations": str(args.iterations), f"Pthree{tag}Lr": f"{args.lr:g}", f"Pthree{tag}Width": str(args.width),
        f"Pthree{tag}Batch": str(args.batch_size), f"Pthree{tag}Images": str(len(data["train"])),
        f"Pthree{tag}Dataset": data["dataset"], **{f"Pthree{tag}{k}": str(v) for k, v in extra_values.items()}})
    return to_model_input(data["train"]).to(device), device, out


def save_grid(images: torch.Tensor, path: Path, nrow: int = 8) -> Path:
    """Save float images (N, 3, 32, 32) in [-1, 1] as one PNG grid."""
    from torchvision.utils import save_image

    save_image(images.detach().cpu().clamp(-1, 1) * 0.5 + 0.5, path, nrow=nrow, padding=2, pad_value=1.0)
    return path


def fixed_latents(n: int = 64, seed: int = 1234, device="cpu") -> torch.Tensor:
    """The same z ~ N(0, I) of shape (n, 100) for every grid, so grids are comparable across models."""
    return torch.randn(n, LATENT, generator=torch.Generator().manual_seed(seed)).to(device)
