"""Fixed binarized MNIST (Larochelle & Murray; 50,000 / 10,000 / 10,000 images of 28x28 in {0, 1}).

Looked up in the data directory, in this order:
1. ``binarized_mnist.npz``: rows packed with np.packbits (keys train/valid/test, uint8 (N, 98));
2. ``binarized_mnist_{train,valid,test}.amat``: the original text files (N lines of 784 zeros and
   ones); converted once to (1);
3. otherwise the .amat files are downloaded from their public location, verified (shape and the
   SHA-256 of the packed bits), converted to (1) and cached.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from utils.cli import UserError, data_dir
from utils.files import download, write_npz

SPLITS = ("train", "valid", "test")
D = 784
NPZ = "binarized_mnist.npz"
BASE_URL = os.environ.get(
    "A3_MNIST_URL", "https://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist"
)
# SHA-256 of np.packbits(x, axis=1).tobytes() for each official split: a content checksum of the
# bits.
OFFICIAL_SHA256 = {
    "train": "727146c35424b019f3e350e1e69faa05644a0abaf787e3f4e1a9632220a13906",
    "valid": "a256ac44ae26be720fad8616a05ed6ecfd1619930d9a208379bb2a4405df5b6d",
    "test": "9fcd8da6f0fdf09b2ba30fe63a0bb784042a0de82563172530229b983e294ff2",
}


def packed_sha256(packed: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(packed, dtype=np.uint8).tobytes()).hexdigest()


def read_amat(path: Path) -> np.ndarray:
    """Parse an .amat text file (one image of 784 zeros and ones per line) into packed bits (N, 98);
    one clear error naming the first bad line otherwise."""
    try:
        lines = [line for line in path.read_text().splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read {path}: {type(e).__name__}") from None
    if not lines:
        raise UserError(f"{path}: empty; expected lines of {D} values")
    fields = [line.split() for line in lines]
    for n, row in enumerate(fields, start=1):
        if len(row) != D:
            raise UserError(
                f"{path}, line {n}: {len(row)} values, expected {D} (truncated or not binarized "
                "MNIST)"
            )
    text = np.array(fields)  # (N, 784) strings
    bad = ~((text == "0") | (text == "1")).all(axis=1)
    if bad.any():
        raise UserError(
            f"{path}, line {int(np.argmax(bad)) + 1}: values other than 0 and 1; not binarized "
            "MNIST"
        )
    return np.packbits(text == "1", axis=1)


def _check_packed(packed, path: Path, split: str) -> np.ndarray:
    if (
        packed.dtype != np.uint8
        or packed.ndim != 2
        or packed.shape[1] != D // 8
        or len(packed) == 0
    ):
        raise UserError(
            f"{path}: split {split!r} has dtype {packed.dtype} and shape {packed.shape}; "
            f"expected uint8 (N, {D // 8}) packed bits"
        )
    return packed


def convert_amat(root: Path, expected_sha256: dict | None = None) -> Path:
    """Read the three local .amat files, check each against its content checksum and write the
    packed npz; returns its path. A file that fails its check is never converted (one clear
    error)."""
    expected_sha256 = OFFICIAL_SHA256 if expected_sha256 is None else expected_sha256
    arrays = {split: read_amat(root / f"binarized_mnist_{split}.amat") for split in SPLITS}
    for split, packed in arrays.items():
        if packed_sha256(packed) != expected_sha256[split]:
            raise UserError(
                f"{root / f'binarized_mnist_{split}.amat'}: not the official binarized MNIST "
                f"{split} "
                "split (its content checksum differs); delete it (and download it again)"
            )
    return write_npz(root / NPZ, arrays)


def fetch_amat(root: Path, base_url: str = BASE_URL, expected_sha256: dict | None = None) -> Path:
    """Download the three .amat files, verify them and write the packed npz; returns its path. A
    download that fails its check is deleted, so no later run can use it."""
    expected_sha256 = OFFICIAL_SHA256 if expected_sha256 is None else expected_sha256
    for split in SPLITS:
        amat = download(
            f"{base_url}/binarized_mnist_{split}.amat", root / f"binarized_mnist_{split}.amat"
        )
        try:
            bad = packed_sha256(read_amat(amat)) != expected_sha256[split]
        except UserError:
            bad = True
        if bad:
            amat.unlink()
            raise UserError(
                f"{base_url}/binarized_mnist_{split}.amat: content checksum mismatch; the download "
                "is "
                "corrupt (deleted)"
            )
    return convert_amat(root, expected_sha256)


def load_binarized_mnist(
    root: str | os.PathLike | None = None, *, download_ok: bool = True
) -> dict[str, np.ndarray]:
    """{split: float32 array (N, 1, 28, 28) in {0, 1}} for train / valid / test."""
    root = data_dir(root)
    npz = root / NPZ
    amats = [root / f"binarized_mnist_{s}.amat" for s in SPLITS]
    if not npz.exists():
        if all(p.exists() for p in amats):
            convert_amat(root)
        elif any(p.exists() for p in amats):
            raise UserError(
                f"{root} holds {', '.join(p.name for p in amats if p.exists())} but not "
                f"{', '.join(p.name for p in amats if not p.exists())}: put all three there (or "
                f"{NPZ})"
            )
        else:
            missing = (
                f"binarized MNIST is not in {root}: put {NPZ} (or "
                f"binarized_mnist_{{train,valid,test}}.amat) "
                "there, or point --data-dir / $A3_DATA_DIR at the folder that holds it"
            )
            if not download_ok:
                raise UserError(missing)
            try:
                fetch_amat(root)
            except UserError as e:
                raise UserError(f"{missing} (the download failed: {e})") from None
    try:
        with np.load(npz) as f:
            missing = [s for s in SPLITS if s not in f.files]
            packed = {s: f[s] for s in SPLITS if s in f.files}
    # any failure: truncated zip, object arrays, ...: never suggest loading unsafely
    except Exception as e:  # noqa: BLE001
        raise UserError(
            f"{npz}: not a binarized-MNIST .npz of uint8 arrays (corrupt or other content; "
            f"{type(e).__name__})"
        ) from None
    if missing:
        raise UserError(
            f"{npz}: no {' or '.join(missing)} split (it holds {', '.join(packed) or 'none'}); not "
            "the "
            "binarized-MNIST file"
        )
    return {
        s: np.unpackbits(_check_packed(p, npz, s), axis=1).astype(np.float32).reshape(-1, 1, 28, 28)
        for s, p in packed.items()
    }
