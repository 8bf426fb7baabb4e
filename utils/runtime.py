"""What runs a script: the machine (its bfloat16 instructions, the C library's memory reuse, its
description), the Problem 3 profile it takes, seeds, library versions. Where its data and results
live, and its device: utils/cli.py."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import random
from functools import cache

import numpy as np
import torch

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt() parameter numbers (malloc.h)


@cache
def keep_freed_memory() -> bool:
    """Let glibc's malloc keep freed blocks of up to 32 MiB for reuse, for the rest of the process.

    By default glibc serves large blocks from fresh pages (mmap) and hands freed memory back soon,
    so the activation tensors of each CPU training step are page-faulted in again, 4 KiB at a time,
    every step (bench/bench_vae_training.py counts them). The price is that a process keeps its peak
    heap until it exits. Returns False, changing nothing, where the C library is not glibc."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    return bool(mallopt(M_MMAP_THRESHOLD, 32 << 20) and mallopt(M_TRIM_THRESHOLD, 1 << 30))


def device_description(device: torch.device) -> str:
    """The GPU's name, or the CPU's model and core count, e.g. for run summaries."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in open("/proc/cpuinfo")
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        model = "CPU"
    return f"{model}, {os.cpu_count()} cores, {torch.get_num_threads()} threads"


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def library_versions() -> dict:
    return {"torch": str(torch.__version__), "numpy": str(np.__version__)}


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
