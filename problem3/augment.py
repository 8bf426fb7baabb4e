"""Differentiable augmentation for the WGAN-GP critic (Zhao et al. 2020, "DiffAugment"), written for
this project.

The critic sees every image, real and generated, through the same random transformations; they are
differentiable in the image, so the generator's gradient passes through them. On a small training
set this keeps the critic from memorising the real images. Images are (N, 3, H, W) in [-1, 1]; each
image draws its own transformation from the global torch generator (so a resumed run replays them).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

POLICIES = ("translation", "color", "cutout")


def translation(x: torch.Tensor, max_shift: int | None = None) -> torch.Tensor:
    """Shift each image by up to ``max_shift`` pixels in each direction (default: an eighth of its
    height and of its width), filling with zeros (mid-grey)."""
    n, _, h, w = x.shape
    sh, sw = (h // 8, w // 8) if max_shift is None else (max_shift, max_shift)
    dy = torch.randint(-sh, sh + 1, (n, 1, 1), device=x.device)
    dx = torch.randint(-sw, sw + 1, (n, 1, 1), device=x.device)
    rows = (torch.arange(h, device=x.device).view(1, h, 1) + dy + sh).expand(n, h, w)
    cols = (torch.arange(w, device=x.device).view(1, 1, w) + dx + sw).expand(n, h, w)
    padded = F.pad(x, (sw, sw, sh, sh))
    batch = torch.arange(n, device=x.device).view(n, 1, 1).expand(n, h, w)
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def color(x: torch.Tensor) -> torch.Tensor:
    """Random brightness (+-0.5), saturation (x0..2) and contrast (x0.5..1.5) per image."""
    n = x.shape[0]
    x = x + (torch.rand(n, 1, 1, 1, device=x.device) - 0.5)
    mean = x.mean(1, keepdim=True)
    x = (x - mean) * (2 * torch.rand(n, 1, 1, 1, device=x.device)) + mean
    mean = x.mean((1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(n, 1, 1, 1, device=x.device) + 0.5) + mean


def cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Zero a square of ratio * size at a random centre of each image."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device)
    cx = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    inside = ((ys - cy).abs() < ch // 2 + ch % 2) & ((xs - cx).abs() < cw // 2 + cw % 2)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def parse_policy(policy: str) -> list[str]:
    """'translation,color' -> ['translation', 'color']; '' or 'none' -> []; unknown names raise
    ValueError."""
    names = [p.strip() for p in policy.split(",") if p.strip() and p.strip() != "none"]
    unknown = [p for p in names if p not in POLICIES]
    if unknown:
        raise ValueError(
            f"unknown augmentation {', '.join(unknown)} (known: {', '.join(POLICIES)}, none)"
        )
    return names


def augment(x: torch.Tensor, policy: list[str]) -> torch.Tensor:
    """Apply the named transformations in the order of :data:`POLICIES`."""
    for name in POLICIES:
        if name in policy:
            x = globals()[name](x)
    return x
