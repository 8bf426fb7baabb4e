"""Problem 3, Questions 3.1-3.3 for both models: samples, per-dimension latent perturbations, and
interpolation in latent space vs data space. Reads <results>/problem3/{vae/vae.pt, gan/gan.pt}; writes
<results>/problem3/<model>/{samples.png, perturbations.png, interpolation.png, perturbation_ranking.csv}.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from problem3.common import fixed_latents, save_grid  # noqa: E402
from problem3.models import LATENT, load_generator  # noqa: E402
from utils import cli, common_args, get_device, results_dir, write_csv  # noqa: E402

MODELS = {"vae": "vae/vae.pt", "gan": "gan/gan.pt"}
ALPHAS = np.round(np.linspace(0, 1, 11), 1)


@torch.no_grad()
def perturbation_ranking(g, z: torch.Tensor, eps: float) -> np.ndarray:
    """Mean absolute pixel change |g(z + eps e_i) - g(z)| for every latent dimension i: z (1, L) -> (L,)."""
    zs = z.repeat(LATENT, 1) + eps * torch.eye(LATENT, device=z.device)
    return (g(zs) - g(z)).abs().flatten(1).mean(1).cpu().numpy()


@torch.no_grad()
def perturbation_figure(g, z: torch.Tensor, dims: np.ndarray, eps: float, path: Path) -> None:
    """One row per dimension i: g(z + k eps e_i) for k = -2, -1, 0, 1, 2 (k = 0 is the unperturbed image)."""
    rows = [z + k * eps * torch.eye(LATENT, device=z.device)[i] for i in dims for k in (-2, -1, 0, 1, 2)]
    save_grid(g(torch.cat(rows)), path, nrow=5)


@torch.no_grad()
def interpolations(g, z0: torch.Tensor, z1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(g(a z0 + (1 - a) z1), a g(z0) + (1 - a) g(z1)) for a = 0, 0.1, ..., 1; each (11, 3, 32, 32)."""
    a = torch.tensor(ALPHAS, dtype=z0.dtype, device=z0.device).view(-1, 1)
    latent = g(a * z0 + (1 - a) * z1)
    x0, x1 = g(z0), g(z1)
    data = a.view(-1, 1, 1, 1) * x0 + (1 - a.view(-1, 1, 1, 1)) * x1
    return latent, data


@cli
def main(argv=None):
    ap = common_args(argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter))
    ap.add_argument("--eps", type=float, default=2.0, help="perturbation step epsilon")
    ap.add_argument("--dims", type=int, default=6, help="number of most-changing dimensions to show")
    ap.add_argument("--pairs", type=int, default=3, help="number of interpolation pairs")
    args = ap.parse_args(argv)
    device = get_device(args.device)
    root = results_dir("problem3", base=args.results_dir)
    for name, ckpt in MODELS.items():
        g = load_generator(root / ckpt, device)
        out = root / name
        save_grid(g(fixed_latents(64, device=device)), out / "samples.png")
        gen = torch.Generator().manual_seed(args.seed)
        z = torch.randn(1, LATENT, generator=gen).to(device)
        change = perturbation_ranking(g, z, args.eps)
        order = np.argsort(-change)
        write_csv(out / "perturbation_ranking.csv", [{"dim": int(i), "mean_abs_pixel_change": float(change[i])}
                                                      for i in order])
        perturbation_figure(g, z, order[:args.dims], args.eps, out / "perturbations.png")
        rows = []
        for _ in range(args.pairs):
            z0, z1 = (torch.randn(1, LATENT, generator=gen).to(device) for _ in range(2))
            rows += list(interpolations(g, z0, z1))
        save_grid(torch.cat(rows), out / "interpolation.png", nrow=len(ALPHAS))
        print(f"{name}: top dimensions {order[:args.dims].tolist()}; figures in {out}")


if __name__ == "__main__":
    main()
