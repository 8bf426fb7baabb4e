"""Memory checks before a run starts: sizes that cannot fit are refused in one line, not by the
allocator later.

The estimates are upper bounds of the right order (float32, the largest tensors only), not exact
counts: they exist to catch a mistyped size (``--width 1000000``), never to refuse a size that fits.
"""

from __future__ import annotations

import os

import torch

from utils.cli import UserError

FLOAT = 4  # bytes


def available_bytes(device: torch.device | str | None = None) -> int:
    """Free memory of a CUDA device, else the memory the kernel says is available to a new
    process."""
    device = torch.device(device or "cpu")
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        with open("/proc/meminfo") as f:
            fields = dict(line.split(":", 1) for line in f)
        return int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_fits(nbytes: float, what: str, device: torch.device | str | None = None) -> None:
    """One clear error if ``nbytes`` exceeds the memory available on ``device``."""
    free = available_bytes(device)
    if nbytes > free:
        raise UserError(
            f"{what} need about {nbytes / 2**30:,.1f} GiB, more than the {free / 2**30:,.1f} GiB "
            "available: use smaller values"
        )


def problem3_training_bytes(width: int, batch_size: int) -> float:
    """Problem 3 training at channel width w: the generator and critic or encoder (about 2 * 170 w^2
    weights, with gradients and Adam's two moments) and a batch's activations (about 3,500 w values
    per image, kept for the backward pass and the penalty's double backward)."""
    weights = 2 * (170 * width**2 + 6_500 * width) * 4
    activations = batch_size * 3_500 * width * 4
    return float((weights + activations) * FLOAT)


def importance_sampling_bytes(batch_size: int, k: int, latent: int = 100) -> float:
    """Problem 2's evaluation: M images x K samples of z (M, K, L), their noise and log-weights."""
    return float(min(batch_size, 10_000) * k * (3 * latent + 8) * FLOAT)


def sampler_bytes(batch_size: int, dim: int, samplers: int) -> float:
    """Problem 1: one batch of each sampler (float64 in numpy, float32 on the device) and a critic's
    activations."""
    return float(samplers * batch_size * (dim * 12 + 3 * 64 * FLOAT * 4))
