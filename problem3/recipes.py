"""Problem 3 training recipes: the settings each hardware profile uses.

A training script picks one (``--profile``, default ``auto``: ``gpu`` on a CUDA device, else ``cpu``) and layers
the rest over it (problem3.common.resolve_training): on the small offline training set (svhn-partial) the VAE
keeps :data:`SMALL_SET`, ``--quick`` shrinks the run to :data:`QUICK`, and a flag given explicitly wins.

* ``cpu``: narrow networks and few iterations, so all of Problem 3 fits a 2-core CPU in minutes; bfloat16
  autocast where the CPU computes it in hardware; no augmentation for the critic (it pays off only in long runs);
  the VAE's training images shifted by up to 2 pixels and its samples from a weight average.
* ``gpu``: a wider GAN, more iterations, translation augmentation against the critic memorising a small
  training set, a slower weight average.

docs/problem3_recipes.md gives the measurements behind each choice, with their dates and hardware.
"""
from __future__ import annotations

import torch

RECIPES: dict[str, dict[str, dict]] = {
    "cpu": {
        "vae": {"iterations": 10000, "width": 32, "batch_size": 64, "lr": 2e-3, "kl_warmup": 2000, "pixel_scale": 3.0,
                "shift": 2, "ema": 0.998, "precision": "bf16", "ckpt_every": 500},
        "gan": {"iterations": 3500, "width": 32, "batch_size": 32, "lr": 1e-3, "n_critic": 5, "lam": 10.0,
                "augment": "none", "ema": 0.99, "precision": "bf16", "ckpt_every": 250},
    },
    "gpu": {
        "vae": {"iterations": 40000, "width": 64, "batch_size": 64, "lr": 1e-3, "kl_warmup": 5000, "pixel_scale": 3.0,
                "shift": 0, "ema": 0.0, "precision": "fp32", "ckpt_every": 4000},
        "gan": {"iterations": 8000, "width": 64, "batch_size": 64, "lr": 5e-4, "n_critic": 5, "lam": 10.0,
                "augment": "translation", "ema": 0.999, "precision": "fp32", "ckpt_every": 500},
    },
}
PIXEL_SCALES = (1.0, 3.0, 16.0, 127.5)  # the VAE likelihood's scales the main job compares (problem3/pixel_scale.py)
SWEEP_ITERATIONS = 3000  # the other scales' runs: as long as the first part of the recipe's they are compared with
# Training seeds reproduce.py runs; FIDs are their mean and spread. Two on a CPU keep Problem 3 near 25 minutes.
SEEDS = {"cpu": (0, 1), "gpu": (0, 1, 2), "quick": (0, 1)}
# svhn-partial (1,200 images): the VAE keeps the cpu recipe's model and schedule in every profile (the gpu recipe's
# wider VAE got worse there)
SMALL_SET = {"vae": {k: v for k, v in RECIPES["cpu"]["vae"].items() if k != "precision"}}
QUICK = {"vae": {"iterations": 100, "kl_warmup": 50, "ckpt_every": 50}, "gan": {"iterations": 20, "ckpt_every": 10}}


def pick_profile(profile: str, device: torch.device) -> str:
    """``cpu`` or ``gpu`` for a requested profile (``auto``: by the device)."""
    if profile not in ("auto", "cpu", "gpu"):
        raise ValueError(f"unknown profile {profile!r}")
    if profile != "auto":
        return profile
    return "gpu" if torch.device(device).type == "cuda" else "cpu"


BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")  # instructions that compute bfloat16 products in hardware


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> set[str]:
    """The instruction-set flags of this CPU (empty where ``cpuinfo`` cannot be read)."""
    try:
        with open(cpuinfo) as f:
            return next((set(line.split(":", 1)[1].split()) for line in f if line.startswith("flags")), set())
    except OSError:
        return set()


def onednn_built() -> bool:
    """Whether this torch has oneDNN, the library that runs bfloat16 convolutions on a CPU."""
    return torch.backends.mkldnn.is_available()


def fast_bf16(device: torch.device) -> bool:
    """Whether bfloat16 autocast is faster than float32 here: on a GPU that supports it, and on a CPU only with
    bfloat16 instructions (AVX512-BF16 or AMX). oneDNN also "supports" bf16 on plain AVX-512 by emulating it,
    which makes the WGAN-GP critic step slower than float32, so support alone is not the test."""
    if torch.device(device).type == "cuda":
        return torch.cuda.is_bf16_supported()
    return onednn_built() and bool(cpu_flags() & set(BF16_CPU_FLAGS))
