"""The images an FID compares, as uint8 (N, 32, 32, 3): a folder of samples (the course's layout,
read and resized as its script does) and the real SVHN test images; and the classifier's input."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import torch

from utils.cli import UserError, data_dir

SIXTEEN_BIT = {"I;16", "I;16B", "I;16L", "I;16N", "I"}  # Pillow's modes of 16-bit grey images
IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp"}


def walk_files(top: Path) -> list[Path]:
    """Every file under ``top``, following symbolic links to folders as the course's ImageFolder
    does (each real folder once, so a link loop ends); one clear error for a folder that cannot be
    read."""
    found, seen = [], set()

    def refuse(e: OSError):
        raise UserError(f"cannot read {e.filename}: {e.strerror} (check its permissions)")

    for root, dirs, files in os.walk(top, followlinks=True, onerror=refuse):
        real = os.path.realpath(root)
        if real in seen:  # a link back to a folder already read
            dirs[:] = []
            continue
        seen.add(real)
        found += [Path(root) / f for f in files]
    return sorted(found)


def list_images(directory: str | Path) -> list[Path]:
    """The image files under ``directory``'s single subdirectory, nested and linked folders included
    (as the course's ImageFolder finds them), sorted; other files are reported as skipped. One
    clear error otherwise."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(f"not a directory: {directory}")
    try:
        subdirs = [p for p in directory.iterdir() if p.is_dir()]
    except OSError as e:
        raise UserError(f"cannot read {directory}: {e.strerror} (check its permissions)") from None
    if len(subdirs) != 1:
        raise UserError(
            f"{directory} must hold exactly one subdirectory of images (e.g. samples/), "
            f"found {len(subdirs)}"
        )
    found = walk_files(subdirs[0])
    files = [p for p in found if p.suffix.lower() in IMAGE_EXTENSIONS]
    skipped = [p for p in found if p.suffix.lower() not in IMAGE_EXTENSIONS]
    if skipped:
        names = ", ".join(str(p.relative_to(subdirs[0])) for p in skipped[:3])
        more = ", ..." if len(skipped) > 3 else ""
        print(
            f"note: skipped {len(skipped)} file(s) that are not images: {names}{more}",
            file=sys.stderr,
        )
    if len(files) < 2:
        raise UserError(
            f"{len(files)} image(s) ({', '.join(sorted(IMAGE_EXTENSIONS))}) under {subdirs[0]}; "
            "FID needs at least 2"
        )
    return files


def to_8bit(im, path: Path):
    """An 8-bit Pillow image of ``im``, and how it was converted (None if as is). 16-bit images
    keep their levels (convert("RGB") would clip every value above 255 to white); float images
    (mode F) with values in [0, 1] are scaled to 0-255, with values in [0, 255] kept; any other
    float range has no meaning as pixel levels and is refused."""
    from PIL import Image

    if im.mode in SIXTEEN_BIT:
        levels = np.asarray(im, dtype=np.float64) / 257
        return Image.fromarray(np.round(levels).clip(0, 255).astype(np.uint8)), "16-bit"
    if im.mode == "F":
        x = np.asarray(im, dtype=np.float64)
        if not np.isfinite(x).all() or x.min() < 0 or x.max() > 255:
            raise UserError(
                f"{path}: a float image with values outside [0, 255]; save 8-bit images"
            )
        scale = 255 if x.max() <= 1 else 1
        kind = "float, values 0-1" if scale == 255 else "float, values 0-255"
        return Image.fromarray(np.round(x * scale).clip(0, 255).astype(np.uint8)), kind
    return im, None


def load_images(files: list[Path]) -> np.ndarray:
    """Read image files as uint8 (N, 32, 32, 3), resized to 32x32 like the course's script; every
    conversion that is not the course loader's plain convert("RGB") is reported in one note."""
    from PIL import Image

    out = np.empty((len(files), 32, 32, 3), dtype=np.uint8)
    converted: dict[str, int] = {}
    for i, f in enumerate(files):
        try:
            with Image.open(f) as im:
                im, kind = to_8bit(im, f)
                im = im.convert("RGB")
                if im.size != (32, 32):
                    im = im.resize((32, 32), Image.BILINEAR)
                out[i] = np.asarray(im)
        except UserError:
            raise
        except Exception as e:  # noqa: BLE001 - any decoding error
            raise UserError(f"unreadable image {f}: {type(e).__name__}") from None
        if kind:
            converted[kind] = converted.get(kind, 0) + 1
    if converted:
        kinds = ", ".join(f"{n} {kind}" for kind, n in converted.items())
        print(f"note: read as 8-bit levels: {kinds} image(s)", file=sys.stderr)
    return out


def to_classifier_input(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, 32, 32, 3) -> float (N, 3, 32, 32): ToTensor ([0, 1]) then Normalize(0.5, 0.5)
    ([-1, 1])."""
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (32, 32, 3):
        raise ValueError(
            f"expected uint8 images of shape (N, 32, 32, 3), got {images.dtype} {images.shape}"
        )
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    return (x - 0.5) / 0.5


TEST_10K = (
    "svhn_test_10k.npz"  # the first 10,000 test images: the reference without the official file
)
REFERENCES = ("auto", "svhn-test", "svhn-test-10k")
_UNREACHABLE: set[tuple] = set()  # downloads that failed once: offline, each would be tried again


def official_file(split: str) -> tuple[str, str, str]:
    """(URL, file name, md5) of an official SVHN split ('train', 'test'), torchvision's."""
    from torchvision.datasets import SVHN

    url, name, md5 = SVHN.split_list[split]
    return url, name, md5


def svhn_file(split: str, root=None, download_ok: bool = True) -> Path | None:
    """``{split}_32x32.mat`` in the data directory, downloaded if missing and ``download_ok`` (by
    torchvision, which checks its md5; a failed download is deleted); None if unavailable."""
    from torchvision.datasets.utils import download_url

    url, name, md5 = official_file(split)
    path = data_dir(root) / name
    if path.exists() or not download_ok or (url, md5, path) in _UNREACHABLE:
        return path if path.exists() else None
    try:
        download_url(url, str(path.parent), name, md5)
        return path
    except BaseException as e:
        path.unlink(missing_ok=True)  # never keep a partial or corrupt download
        if not isinstance(e, (OSError, RuntimeError)):  # Ctrl-C
            raise
        # OSError: offline; RuntimeError: torchvision's "corrupted", the md5 differs
        reason = "checksum mismatch; the download is corrupt" if isinstance(e, RuntimeError) else e
        print(f"note: could not download {url}: {reason}", file=sys.stderr)
        _UNREACHABLE.add((url, md5, path))
        return None


def read_svhn(split: str, root=None) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 32, 32, 3), labels int64 (N,) in 0..9) of the official
    ``{split}_32x32.mat`` in the data directory, read by torchvision.datasets.SVHN after its md5
    check (label 10 = digit 0)."""
    from torchvision.datasets import SVHN

    try:
        ds = SVHN(data_dir(root), split=split)
    except RuntimeError:  # torchvision's "Dataset not found or corrupted": the md5 differs
        raise UserError(
            f"{data_dir(root) / official_file(split)[1]}: not the official SVHN {split} file "
            "(missing, truncated or replaced: its md5 differs); delete it to download it again"
        ) from None
    return np.ascontiguousarray(ds.data.transpose(0, 2, 3, 1)), ds.labels


def read_npz_images(path: Path, keys: list[str], what: str) -> np.ndarray:
    """The uint8 (N, 32, 32, 3) arrays ``keys`` of an .npz file, concatenated; otherwise one clear
    error naming ``what`` they are needed for."""
    if not path.exists():
        raise UserError(f"{path} not found (needed for {what}; see the README's data table)")
    try:
        with np.load(path) as d:
            x = np.concatenate([d[k] for k in keys])
    except KeyError as e:
        raise UserError(
            f"{path}: no array {e} (needed for {what}); not the expected file"
        ) from None
    except Exception as e:  # noqa: BLE001 - truncated, not an npz, object arrays: never load unsafely
        raise UserError(
            f"{path}: corrupt, or not a file of uint8 images ({type(e).__name__})"
        ) from None
    if x.dtype != np.uint8 or x.shape[1:] != (32, 32, 3):
        raise UserError(f"{path}: images {x.dtype} {x.shape}; expected uint8 (N, 32, 32, 3)")
    return x


def reference_images(reference: str = "auto", root=None) -> tuple[np.ndarray, str]:
    """(images, description) of the real test images an FID is measured against: ``svhn-test``, the
    official test split (downloaded if missing); ``svhn-test-10k``, its first 10,000 images
    (svhn_test_10k.npz); ``auto``, the first if available, else the second."""
    if reference not in REFERENCES:
        raise UserError(f"unknown FID reference {reference!r} ({', '.join(REFERENCES)})")
    if reference != "svhn-test-10k" and svhn_file("test", root) is not None:
        x = read_svhn("test", root)[0]
        return x, f"SVHN test, {len(x):,} images"
    if reference == "svhn-test":
        raise UserError(f"test_32x32.mat not in {data_dir(root)} and not downloadable")
    if reference == "auto":
        print(
            f"note: official SVHN test file unavailable; FID reference: {TEST_10K}", file=sys.stderr
        )
    x = read_npz_images(
        data_dir(root) / TEST_10K, ["x"], "the FID reference without test_32x32.mat"
    )
    if len(x) < 2:
        raise UserError(f"{TEST_10K} holds {len(x)} image(s); an FID reference needs at least 2")
    return x, f"SVHN test, first {len(x):,} images"
