"""Files: atomic writes, hashes and fingerprints, verified downloads."""

from __future__ import annotations

import csv
import errno
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Callable

import numpy as np

from utils.cli import UserError


def file_hash(path: str | os.PathLike, algo: str = "sha256") -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class WriteError(UserError):
    """A file could not be written (full disk, read-only place...); the previous version of it is
    kept."""


NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
# torch's zip writer, disk full
TORCH_WRITE_FAILURES = (
    "unexpected pos",
    "failed writing",
    "No space left",
)


def atomic_write(
    path: str | os.PathLike, write: Callable[[str], None], size: int | None = None
) -> Path:
    """Call ``write(tmp_path)`` then atomically rename the temporary file onto ``path``. A failed
    write raises :class:`WriteError` in one line (naming the free space, and ``size``, the bytes
    needed, when known); the temporary file is removed and any previous ``path`` is left as it
    was."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    except OSError as e:
        if e.errno in NO_SPACE:
            raise _no_space(path, size) from None
        raise WriteError(f"cannot write {path}: {e.strerror or e}") from None
    except RuntimeError as e:
        if any(text in str(e) for text in TORCH_WRITE_FAILURES):
            raise _no_space(path, size) from None
        raise
    finally:
        if tmp and os.path.exists(tmp):
            os.remove(tmp)
    return path


def _no_space(path: Path, size: int | None) -> WriteError:
    free = shutil.disk_usage(path.parent).free if path.parent.exists() else 0
    need = f", {size / 2**20:,.1f} MiB needed" if size else ""
    return WriteError(
        f"no space left on the device writing {path} ({free / 2**20:,.1f} MiB free{need}); any "
        "previous version of it is kept"
    )


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Atomically write ``text`` to ``path``."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def write_json(path: str | os.PathLike, obj) -> Path:
    """Atomically write ``obj`` as indented JSON."""
    return write_text(path, json.dumps(obj, indent=1))


def write_npz(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> Path:
    """Atomically write arrays as an .npz (the file closed before the rename)."""

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)

    return atomic_write(path, write)


def download(
    url: str, dest: str | os.PathLike, *, sha256: str | None = None, md5: str | None = None
) -> Path:
    """Download ``url`` to ``dest`` (atomically) and verify its checksum; reuse a verified cached
    copy."""
    dest = Path(dest)

    def ok(p: Path) -> bool:
        return (sha256 is None or file_hash(p, "sha256") == sha256) and (
            md5 is None or file_hash(p, "md5") == md5
        )

    if dest.exists() and ok(dest):
        return dest
    print(f"downloading {url} -> {dest}", file=sys.stderr)

    def fetch(tmp: str) -> None:
        try:
            with urllib.request.urlopen(url, timeout=60) as r, open(tmp, "wb") as f:
                shutil.copyfileobj(r, f)
        except OSError as e:
            raise UserError(f"could not download {url}: {e}") from None
        if not ok(Path(tmp)):
            raise UserError(
                f"checksum mismatch for {url}; the download is corrupt or the file changed"
            )

    try:
        return atomic_write(dest, fetch)
    except WriteError as e:
        raise UserError(f"cannot download {url}: {e} (use a writable --data-dir)") from None


def fingerprint(array: np.ndarray) -> str:
    """A short SHA-256 of an array's shape, dtype and bytes: names a training set in checkpoints."""
    h = hashlib.sha256(f"{array.shape} {array.dtype}".encode())
    h.update(np.ascontiguousarray(array).data)
    return h.hexdigest()[:16]


def write_csv(path: str | os.PathLike, rows: list[dict]) -> Path:
    """Atomically write a list of dicts (same keys) as CSV."""

    def write(tmp: str) -> None:
        with open(tmp, "w", newline="") as f:
            keys = list(dict.fromkeys(k for r in rows for k in r))
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            w.writerows(rows)

    return atomic_write(path, write)


def read_csv(path: str | os.PathLike) -> list[dict]:
    with open(path, newline="") as f:
        return [
            {k: float(v) if v not in ("", None) else math.nan for k, v in r.items()}
            for r in csv.DictReader(f)
        ]
