"""What every command shares: one-line errors, where its data and results live, its device, and
progress bars. The value types of the flags are in utils/config.py."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Callable, Iterable

import torch

ROOT = Path(__file__).resolve().parents[1]  # the repository


class UserError(Exception):
    """Bad input from the user (missing file, wrong shape, corrupt checkpoint...)."""

    exit_code = 2


class Interrupted(UserError):
    """Ctrl-C during training: reported in one line, exit code 130."""

    exit_code = 130


def out_of_memory(e: BaseException) -> bool:
    """Whether ``e`` is an allocation failure: numpy's MemoryError, torch's CPU allocator's
    RuntimeError or CUDA's OutOfMemoryError (a RuntimeError too)."""
    if isinstance(e, MemoryError) or type(e).__name__ == "OutOfMemoryError":
        return True
    return isinstance(e, RuntimeError) and "can't allocate memory" in str(e)


def cli(main: Callable[[list[str] | None], object]) -> Callable[[list[str] | None], object]:
    """Decorate a script's ``main(argv)`` so a :class:`UserError` or an allocation failure (a size
    too large for this machine) exits with one clear line."""

    def wrapped(argv: list[str] | None = None):
        # a script started in the background of a shell inherits SIGINT ignored: take it back, so
        # that Ctrl-C, or reproduce.py stopping its step, interrupts it as it would in a terminal
        if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            return main(argv)
        except UserError as e:
            print(f"error: {e}", file=sys.stderr)
            raise SystemExit(e.exit_code) from None
        except KeyboardInterrupt:
            print("error: interrupted", file=sys.stderr)
            raise SystemExit(130) from None
        except (MemoryError, RuntimeError) as e:
            if not out_of_memory(e):
                raise
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            sizes = "--batch-size, --width, --k, --n ..."
            print(f"error: out of memory ({reason}): use smaller sizes ({sizes})", file=sys.stderr)
            raise SystemExit(2) from None

    wrapped.__doc__ = main.__doc__
    return wrapped


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """The data directory: ``path`` (--data-dir) > $A3_DATA_DIR > ./data. One clear error for a
    file, or for a directory named explicitly that does not exist (a mistyped name is never created
    by a download; ./data, the default download cache, is created when needed)."""
    named = path or os.environ.get("A3_DATA_DIR")
    d = Path(named or ROOT / "data").expanduser()
    flag = "(--data-dir / $A3_DATA_DIR)"
    if d.exists() and not d.is_dir():
        raise UserError(f"data directory {d} is a file, not a directory {flag}")
    if named and not d.exists():
        raise UserError(f"data directory {d} does not exist {flag}; create it first for downloads")
    return d


def results_dir(*parts: str, base: str | os.PathLike | None = None) -> Path:
    """``<results>/<parts...>``, created; the results root: ``base`` (--results-dir) >
    $A3_RESULTS_DIR > ./results."""
    root = Path(base or os.environ.get("A3_RESULTS_DIR") or ROOT / "results").expanduser()
    d = root.joinpath(*parts)
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        flag = "(--results-dir / $A3_RESULTS_DIR)"
        raise UserError(f"cannot create the results directory {d}: {e.strerror} {flag}") from None
    return d


def get_device(name: str | None = None) -> torch.device:
    """``name`` (--device) if given, else CUDA when present, else CPU; one clear error for a name
    that cannot be used."""
    name = name or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise UserError(f"unknown device {name!r} (use cpu or cuda)") from None
    if device.type not in ("cpu", "cuda"):
        raise UserError(f"--device {name}: this project runs on cpu or cuda only (use cpu)")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {name}: no CUDA GPU is available here (use cpu)")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise UserError(f"--device {name}: there are {torch.cuda.device_count()} CUDA devices here")
    return device


def progress(iterable: Iterable | None = None, **kw):
    """A tqdm progress bar (to stderr)."""
    from tqdm.auto import tqdm

    kw.setdefault("dynamic_ncols", True)
    kw.setdefault("mininterval", 1.0)
    return tqdm(iterable, **kw)
