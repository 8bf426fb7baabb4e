"""Sample images for FID: the course's folder layout, reading and resizing, the classifier's
input."""

from __future__ import annotations

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


def list_images(directory: str | Path) -> list[Path]:
    """The image files under ``directory``'s single subdirectory, nested folders included (as the
    course's ImageFolder finds them), sorted; other files are reported as skipped. One clear error
    otherwise."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(f"not a directory: {directory}")
    subdirs = [p for p in directory.iterdir() if p.is_dir()]
    if len(subdirs) != 1:
        raise UserError(
            f"{directory} must hold exactly one subdirectory of images (e.g. samples/), "
            f"found {len(subdirs)}"
        )
    found = sorted(p for p in subdirs[0].rglob("*") if p.is_file())
    files = [p for p in found if p.suffix.lower() in IMAGE_EXTENSIONS]
    skipped = [p for p in found if p.suffix.lower() not in IMAGE_EXTENSIONS]
    if skipped:
        names = ", ".join(str(p.relative_to(subdirs[0])) for p in skipped[:3])
        print(
            f"note: skipped {len(skipped)} file(s) that are not images: {names}"
            f"{', ...' if len(skipped) > 3 else ''}",
            file=sys.stderr,
        )
    if len(files) < 2:
        raise UserError(
            f"{len(files)} image(s) ({', '.join(sorted(IMAGE_EXTENSIONS))}) under {subdirs[0]}; "
            "FID needs at least 2"
        )
    return files


def load_images(files: list[Path]) -> np.ndarray:
    """Read image files as uint8 (N, 32, 32, 3), resized to 32x32 like the course's script."""
    from PIL import Image

    out = np.empty((len(files), 32, 32, 3), dtype=np.uint8)
    for i, f in enumerate(files):
        try:
            with Image.open(f) as im:
                # convert("RGB") would clip every value above 255 to white
                if im.mode in SIXTEEN_BIT:
                    im = Image.fromarray(
                        np.round(np.asarray(im, dtype=np.float64) / 257)
                        .clip(0, 255)
                        .astype(np.uint8)
                    )
                im = im.convert("RGB")
                if im.size != (32, 32):
                    im = im.resize((32, 32), Image.BILINEAR)
                out[i] = np.asarray(im)
        except Exception as e:  # noqa: BLE001 - any decoding error
            raise UserError(f"unreadable image {f}: {type(e).__name__}") from None
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
