"""Where things are and what runs them: the data and results directories, the device, seeds, library
versions."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import random
from functools import cache
from pathlib import Path

import numpy as np
import torch

from utils.cli import UserError

ROOT = Path(__file__).resolve().parents[1]  # the repository


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


def get_device(name: str | None = None) -> torch.device:
    """``name`` if given, else CUDA when present, else CPU; one clear error for a name that cannot
    be used."""
    if not name:
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise UserError(f"unknown device {name!r} (use cpu or cuda)") from None
    if device.type not in ("cpu", "cuda"):
        raise UserError(
            f"--device {name}: this project runs on cpu or cuda only (use cpu, or leave --device "
            "out)"
        )
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(
            f"--device {name}: no CUDA GPU is available here (use cpu, or leave --device out)"
        )
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise UserError(f"--device {name}: there are {torch.cuda.device_count()} CUDA devices here")
    return device


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


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """Resolve the data directory: explicit path > $A3_DATA_DIR > ./data. One clear error if it is a
    file, or if a directory named explicitly does not exist (a mistyped name is never created by a
    download; ./data, the default download cache, is created when needed)."""
    named = path or os.environ.get("A3_DATA_DIR")
    d = Path(named or ROOT / "data").expanduser()
    if d.exists() and not d.is_dir():
        raise UserError(
            f"data directory {d} is a file, not a directory (--data-dir / $A3_DATA_DIR)"
        )
    if named and not d.exists():
        raise UserError(
            f"data directory {d} does not exist (--data-dir / $A3_DATA_DIR; create it first for "
            "downloads to go there)"
        )
    return d


def results_dir(*parts: str, base: str | os.PathLike | None = None) -> Path:
    """``<results>/<parts...>``, created; results root: explicit > $A3_RESULTS_DIR > ./results."""
    d = (
        Path(base or os.environ.get("A3_RESULTS_DIR") or ROOT / "results")
        .expanduser()
        .joinpath(*parts)
    )
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(
            f"cannot create the results directory {d}: {e.strerror} (--results-dir / "
            "$A3_RESULTS_DIR)"
        ) from None
    return d


def library_versions() -> dict:
    return {"torch": str(torch.__version__), "numpy": str(np.__version__)}
