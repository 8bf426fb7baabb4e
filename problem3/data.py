"""SVHN for Problem 3: training images and the FID reference set.

Training images (``--dataset``):
* ``svhn``: train_32x32.mat from the data directory, else downloaded from the official site; read by
  torchvision.datasets.SVHN, whose URLs and md5s are used for the download too; a seeded 90/10 train
  / validation split.
* ``svhn-partial``: svhn_partial.npz, the first 1,083 train + 181 extra images of the official files
  (no labels), a small real training set; a seeded 64-image validation part is held out.
* ``auto``: ``svhn`` when the official file is present or can be downloaded, else ``svhn-partial``.
FID references (``--reference``), never training images: :func:`reference_file`.
Images are uint8 (N, 32, 32, 3); :func:`to_model_input` maps them to float (N, 3, 32, 32) in [-1,
1].
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from utils.cli import UserError
from utils.files import download
from utils.runtime import data_dir

PARTIAL = "svhn_partial.npz"
TEST_10K = "svhn_test_10k.npz"
TEN_K_REFERENCE = "the FID reference without test_32x32.mat"
PARTIAL_VALID = 64  # held-out real images of svhn_partial.npz (validation, critic gap)
SPLIT_SEED = 0  # the train / validation split, the same for every training seed


def official_file(split: str) -> tuple[str, str, str]:
    """(URL, file name, md5) of an official SVHN split ('train', 'test'), as
    torchvision.datasets.SVHN has them."""
    from torchvision.datasets import SVHN

    url, name, md5 = SVHN.split_list[split]
    return url, name, md5


_UNREACHABLE: set[tuple[Path, str, str]] = set()


def svhn_file(split: str, root=None, download_ok: bool = True) -> Path | None:
    """Path of ``{split}_32x32.mat`` in the data directory, downloading it (atomically, md5 checked)
    if allowed; None if unavailable."""
    url, name, md5 = official_file(split)
    path = data_dir(root) / name
    if path.exists():
        return path
    if not download_ok or (path, url, md5) in _UNREACHABLE:
        return None
    try:
        return download(url, path, md5=md5)
    except UserError as e:
        print(f"note: {e}", file=sys.stderr)
        # asked once per process: offline, every reference would ask again
        _UNREACHABLE.add((path, url, md5))
        return None


def read_svhn(split: str, root=None) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 32, 32, 3), labels int64 (N,) in 0..9) of the official
    ``{split}_32x32.mat`` in the data directory, read by torchvision.datasets.SVHN after its md5
    check (label 10 = digit 0)."""
    from torchvision.datasets import SVHN

    directory = data_dir(root)
    path = directory / official_file(split)[1]
    try:
        ds = SVHN(directory, split=split)
    except RuntimeError:  # torchvision's "Dataset not found or corrupted": the md5 differs
        raise UserError(
            f"{path}: not the official SVHN {split} file (missing, truncated or replaced: its md5 "
            "differs); delete it to download it again"
        ) from None
    return np.ascontiguousarray(ds.data.transpose(0, 2, 3, 1)), ds.labels


def resolve_dataset(name: str, root=None) -> str:
    """'svhn' or 'svhn-partial' for a requested name ('auto' picks what is available)."""
    if name not in ("auto", "svhn", "svhn-partial"):
        raise UserError(f"unknown dataset {name!r}")
    if name != "auto":
        return name
    if svhn_file("train", root):
        return "svhn"
    print(
        "note: official SVHN train file unavailable; training on the 1,264 real images of "
        "svhn_partial.npz",
        file=sys.stderr,
    )
    return "svhn-partial"


def _require(path: Path, what: str) -> Path:
    """``path``, or one clear error naming what it is needed for."""
    if not path.exists():
        raise UserError(f"{path} not found (needed for {what}; see the README's data table)")
    return path


def _load_npz_images(path: Path, keys: list[str], what: str) -> np.ndarray:
    """Concatenate uint8 (N, 32, 32, 3) arrays ``keys`` of an .npz file; one clear error
    otherwise."""
    _require(path, what)
    try:
        with np.load(path) as d:
            x = np.concatenate([d[k] for k in keys])
    except KeyError as e:
        raise UserError(
            f"{path}: no array {e} (needed for {what}); not the expected file"
        ) from None
    # any failure: truncated file, not an npz, object arrays: never suggest unsafe loads
    except Exception as e:  # noqa: BLE001
        raise UserError(
            f"{path}: corrupt or not the expected file of uint8 images ({type(e).__name__})"
        ) from None
    if x.dtype != np.uint8 or x.shape[1:] != (32, 32, 3):
        raise UserError(
            f"{path}: images have dtype {x.dtype} and shape {x.shape}; expected uint8 (N, 32, 32, "
            "3)"
        )
    return x


def load_partial(root=None) -> tuple[np.ndarray, Path]:
    """The 1,264 real train + extra images of svhn_partial.npz, uint8 (N, 32, 32, 3), and the
    file."""
    path = data_dir(root) / PARTIAL
    return _load_npz_images(path, ["train_first", "extra_first"], "--dataset svhn-partial"), path


def load_training_images(
    dataset: str, root=None, valid_fraction: float = 0.1
) -> dict[str, np.ndarray]:
    """{'train', 'valid'}: uint8 image arrays from the split of the training file (seeded by
    :data:`SPLIT_SEED`, the same for every training seed), and 'dataset'. Official train:
    ``valid_fraction`` held out; svhn-partial: :data:`PARTIAL_VALID` images held out."""
    dataset = resolve_dataset(dataset, root)
    if dataset == "svhn-partial":
        x, _ = load_partial(root)
        n_valid = PARTIAL_VALID
    else:
        if svhn_file("train", root) is None:
            raise UserError(f"train_32x32.mat not in {data_dir(root)} and not downloadable")
        x, _ = read_svhn("train", root)
        n_valid = int(round(valid_fraction * len(x)))
    if len(x) < n_valid + 2:
        raise UserError(
            f"{dataset}: {len(x)} images, too few to hold out {n_valid} and train on the rest "
            "(at least 2)"
        )
    perm = np.random.default_rng(SPLIT_SEED).permutation(len(x))
    return {"train": x[perm[n_valid:]], "valid": x[perm[:n_valid]], "dataset": dataset}


class Reference(NamedTuple):
    """Real images FIDs are measured against: images ``part`` = [start, stop) of ``path`` (None: all
    of them)."""

    path: Path
    kind: str  # svhn-test, svhn-test-10k or svhn-train (its held-out validation split)
    part: tuple[int, int] | None
    description: str


REFERENCES = ("auto", "svhn-test", "svhn-test-10k", "selection", "reported")
# offline, test images [0, HALF) are reported against, [HALF, 10,000) used for choices and
# monitoring
HALF = 5000


def reference_file(reference: str = "auto", root=None) -> Reference:
    """The real images of an FID reference, never training ones (the file exists, else one clear
    error; nothing is read; the test split is downloaded if missing and allowed):

    * ``auto`` (score_fid.py's): the official test split when available, else its first 10,000
      images;
    * ``svhn-test``, ``svhn-test-10k``: either of those, named;
    * ``selection``, for every choice and for monitoring: the training file's held-out validation
      split with the official files; offline, test images 5,000-9,999;
    * ``reported``, for the reported FID, disjoint from ``selection``: the official test split;
      offline, test images 0-4,999."""
    if reference not in REFERENCES:
        raise UserError(f"unknown FID reference {reference!r} ({', '.join(REFERENCES)})")
    official = svhn_file("test", root) if reference in ("auto", "svhn-test", "reported") else None
    if reference == "selection" and svhn_file("train", root) is not None:
        return Reference(
            data_dir(root) / official_file("train")[1],
            "svhn-train",
            None,
            "SVHN train, held-out validation split",
        )
    if official is not None:
        return Reference(official, "svhn-test", None, "SVHN test")
    if reference == "svhn-test":
        raise UserError(f"test_32x32.mat not in {data_dir(root)} and not downloadable")
    if reference == "auto":
        print(
            f"note: official SVHN test file unavailable; FID reference: {TEST_10K}", file=sys.stderr
        )
    path = _require(data_dir(root) / TEST_10K, TEN_K_REFERENCE)
    part = {"selection": (HALF, 10_000), "reported": (0, HALF)}.get(reference)
    return Reference(path, "svhn-test-10k", part, "SVHN test")


def read_reference_images(ref: Reference, root=None) -> tuple[np.ndarray, str]:
    """(images uint8 (N, 32, 32, 3), description naming them) of a :func:`reference_file`."""
    if ref.kind == "svhn-train":
        valid = load_training_images("svhn", root)["valid"]
        return valid, f"{ref.description} ({len(valid):,} images)"
    x = (
        read_svhn("test", root)[0]
        if ref.kind == "svhn-test"
        else _load_npz_images(ref.path, ["x"], TEN_K_REFERENCE)
    )
    if len(x) < 2:
        raise UserError(f"{ref.path} holds {len(x)} image(s); an FID reference needs at least 2")
    if ref.part is None:
        first = "" if ref.kind == "svhn-test" else "first "
        return x, f"{ref.description}, {first}{len(x):,} images"
    start, stop = ref.part
    if len(x) < stop:
        raise UserError(
            f"{ref.path} holds {len(x):,} images; the reference needs images {start:,}-{stop - 1:,}"
        )
    return x[start:stop], f"{ref.description}, images {start:,}-{stop - 1:,}"


def to_model_input(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, 32, 32, 3) -> float32 (N, 3, 32, 32) in [-1, 1]."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """float (N, 3, 32, 32) in [-1, 1] -> uint8 (N, 32, 32, 3)."""
    return ((x.detach().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()
