"""SVHN for Problem 3: training images and the FID reference set.

Training images (``--dataset``):
* ``svhn``: train_32x32.mat from the data directory, else downloaded from the official site; read by
  torchvision.datasets.SVHN, whose URLs and md5s are used for the download too; a seeded 90/10 train
  / validation split.
* ``svhn-partial``: svhn_partial.npz, the first 1,083 train + 181 extra images of the official files
  (no labels), a small real training set; a seeded 64-image validation part is held out.
* ``auto``: ``svhn`` when the official file is present or can be downloaded, else ``svhn-partial``.
FID references (``--reference``), never training images: :func:`fid_reference`. The official files
and the test images: problem3/images.py.
Images are uint8 (N, 32, 32, 3); :func:`to_model_input` maps them to float (N, 3, 32, 32) in [-1,
1].
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import torch

from problem3.images import TEST_10K, read_npz_images, read_svhn, reference_images, svhn_file
from utils.cli import ROOT, UserError, data_dir
from utils.files import atomic_write, download, file_hash

PARTIAL = "svhn_partial.npz"
PARTIAL_VALID = 64  # held-out real images of svhn_partial.npz (validation, critic gap)
SPLIT_SEED = 0  # the train / validation split, the same for every training seed


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


def load_partial(root=None) -> tuple[np.ndarray, Path]:
    """The 1,264 real train + extra images of svhn_partial.npz, uint8 (N, 32, 32, 3), and the
    file."""
    path = data_dir(root) / PARTIAL
    return read_npz_images(path, ["train_first", "extra_first"], "--dataset svhn-partial"), path


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


REFERENCES = ("auto", "svhn-test", "svhn-test-10k", "selection", "reported")
HALF = 5000  # offline: test images [0, HALF) are reported against, [HALF, 10,000) used for choices


def fid_reference(reference: str, root=None) -> str | tuple[np.ndarray, str]:
    """What an FID of Problem 3 is measured against (a ``reference`` of
    :class:`~problem3.frechet.FidScorer`), never training images. ``selection``, for every choice
    and for monitoring: the training file's held-out validation split with the official files,
    offline test images 5,000-9,999; ``reported``, for the reported FID, disjoint from it: the
    official test split, offline test images 0-4,999; as (images, description). Any other name
    (problem3/images.py: ``auto``, ``svhn-test``, ``svhn-test-10k``) or a statistics file: as
    given."""
    if reference not in ("selection", "reported"):
        return reference
    if reference == "selection" and svhn_file("train", root) is not None:
        valid = load_training_images("svhn", root)["valid"]
        return valid, f"SVHN train, held-out validation split ({len(valid):,} images)"
    if reference == "reported" and svhn_file("test", root) is not None:
        return reference_images("svhn-test", root)
    path = data_dir(root) / TEST_10K
    x = read_npz_images(path, ["x"], "the FID reference without test_32x32.mat")
    start, stop = (HALF, 10_000) if reference == "selection" else (0, HALF)
    if len(x) < stop:
        raise UserError(
            f"{path} holds {len(x):,} images; the reference needs {start:,}-{stop - 1:,}"
        )
    return x[start:stop], f"SVHN test, images {start:,}-{stop - 1:,}"


def to_model_input(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, 32, 32, 3) -> float32 (N, 3, 32, 32) in [-1, 1]."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """float (N, 3, 32, 32) in [-1, 1] -> uint8 (N, 32, 32, 3)."""
    return ((x.detach().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()


CLASSIFIER_SHA256 = "43c9f4917e38506f9e5fe4de9a2fd84c4a9dd4f29586be9525b770e4a386efe9"
CLASSIFIER_URL = (
    "https://raw.githubusercontent.com/CW-Huang/IFT6135H19_assignment/"
    "master/assignment3/svhn_classifier.pt"
)


def fetch_classifier(dest: Path = ROOT / "svhn_classifier.pt", root=None) -> Path:
    """Put the course's classifier at ``dest``: copied from the data directory, else downloaded from
    the course repository; either way checked against its SHA-256."""
    local = data_dir(root) / "svhn_classifier.pt"
    if dest.exists() and file_hash(dest) == CLASSIFIER_SHA256:
        return dest
    if local.exists():
        if file_hash(local) != CLASSIFIER_SHA256:
            raise UserError(f"{local} does not have the course classifier's SHA-256")
        return atomic_write(dest, lambda tmp: shutil.copyfile(local, tmp))
    try:
        return download(CLASSIFIER_URL, dest, sha256=CLASSIFIER_SHA256)
    except UserError as e:
        raise UserError(
            f"{local} not found, and {e}; put the course's svhn_classifier.pt in the data "
            "directory "
            "(--data-dir or $A3_DATA_DIR)"
        ) from None
