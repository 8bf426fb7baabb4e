"""Sample images for FID: the course's folder layout, reading and resizing, the classifier's
input."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import torch

from utils.cli import UserError

# Pillow's modes of 16-bit grey PNGs: 0-65535
SIXTEEN_BIT = {
    "I;16",
    "I;16B",
    "I;16L",
    "I;16N",
    "I",
}
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
