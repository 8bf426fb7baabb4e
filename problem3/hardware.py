"""What the hardware decides for a Problem 3 training: the profile (cpu or gpu) and whether bfloat16
is fast.

The settings of each profile are tables at the top of problem3/train_vae.py and
problem3/train_gan.py.
"""

from __future__ import annotations

import torch


def pick_profile(profile: str, device: torch.device) -> str:
    """``cpu`` or ``gpu`` for a requested profile (``auto``: by the device)."""
    if profile not in ("auto", "cpu", "gpu"):
        raise ValueError(f"unknown profile {profile!r}")
    if profile != "auto":
        return profile
    return "gpu" if torch.device(device).type == "cuda" else "cpu"


# instructions that compute bfloat16 products in hardware
BF16_CPU_FLAGS = (
    "avx512_bf16",
    "amx_bf16",
)


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> set[str]:
    """The instruction-set flags of this CPU (empty where ``cpuinfo`` cannot be read)."""
    try:
        with open(cpuinfo) as f:
            return next(
                (set(line.split(":", 1)[1].split()) for line in f if line.startswith("flags")),
                set(),
            )
    except OSError:
        return set()


def onednn_built() -> bool:
    """Whether this torch has oneDNN, the library that runs bfloat16 convolutions on a CPU."""
    return torch.backends.mkldnn.is_available()


def fast_bf16(device: torch.device) -> bool:
    """Whether bfloat16 autocast is faster than float32 here: on a GPU that supports it, and on a
    CPU only with bfloat16 instructions (AVX512-BF16 or AMX). oneDNN also "supports" bf16 on plain
    AVX-512 by emulating it, which makes the WGAN-GP critic step slower than float32, so support
    alone is not the test."""
    if torch.device(device).type == "cuda":
        return torch.cuda.is_bf16_supported()
    return onednn_built() and bool(cpu_flags() & set(BF16_CPU_FLAGS))
