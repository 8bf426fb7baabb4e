"""SVHN for Problem 3: training images, and the augmentations they go through.

Training images (``--dataset``):
* ``svhn``: train_32x32.mat from the data directory, else downloaded from the official site; read by
  torchvision.datasets.SVHN, whose URLs and md5s are used for the download too; a seeded 90/10 train
  / validation split.
* ``svhn-partial``: svhn_partial.npz, the first 1,083 train + 181 extra images of the official files
  (no labels), a small real training set; a seeded 64-image validation part is held out.
* ``auto``: ``svhn`` when the official file is present or can be downloaded, else ``svhn-partial``.
Augmentations (:func:`augment`): differentiable transformations of images (N, 3, H, W) in [-1, 1]
for the WGAN-GP critic (Zhao et al. 2020, "DiffAugment", written for this project): the critic sees
every image, real and generated, through the same random transformations, differentiable in the
image so the generator's gradient passes through them; on a small training set this keeps the
critic from memorising the real images. Each image draws its own transformation from the global
torch generator, so a resumed run replays them. :func:`translation` also shifts the VAE's images.
The FID references (selection, reported): problem3/scoring.py; the official files and the test
images: problem3/images.py.
Images are uint8 (N, 32, 32, 3); :func:`to_model_input` maps them to float (N, 3, 32, 32) in [-1,
1].
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from problem3.images import read_npz_images, read_svhn, svhn_file
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


# ----------------------------------------------------------------- augmentations

POLICIES = ("translation", "color", "cutout")


def translation(x: torch.Tensor, max_shift: int | None = None) -> torch.Tensor:
    """Shift each image by up to ``max_shift`` pixels in each direction (default: an eighth of its
    height and of its width), filling with zeros (mid-grey)."""
    n, _, h, w = x.shape
    sh, sw = (h // 8, w // 8) if max_shift is None else (max_shift, max_shift)
    dy = torch.randint(-sh, sh + 1, (n, 1, 1), device=x.device)
    dx = torch.randint(-sw, sw + 1, (n, 1, 1), device=x.device)
    rows = (torch.arange(h, device=x.device).view(1, h, 1) + dy + sh).expand(n, h, w)
    cols = (torch.arange(w, device=x.device).view(1, 1, w) + dx + sw).expand(n, h, w)
    padded = F.pad(x, (sw, sw, sh, sh))
    batch = torch.arange(n, device=x.device).view(n, 1, 1).expand(n, h, w)
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def color(x: torch.Tensor) -> torch.Tensor:
    """Random brightness (+-0.5), saturation (x0..2) and contrast (x0.5..1.5) per image."""
    n = x.shape[0]
    x = x + (torch.rand(n, 1, 1, 1, device=x.device) - 0.5)
    mean = x.mean(1, keepdim=True)
    x = (x - mean) * (2 * torch.rand(n, 1, 1, 1, device=x.device)) + mean
    mean = x.mean((1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(n, 1, 1, 1, device=x.device) + 0.5) + mean


def cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Zero a square of ratio * size at a random centre of each image."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device)
    cx = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    inside = ((ys - cy).abs() < ch // 2 + ch % 2) & ((xs - cx).abs() < cw // 2 + cw % 2)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def parse_policy(policy: str) -> list[str]:
    """'translation,color' -> ['translation', 'color']; '' or 'none' -> []; unknown names raise
    ValueError."""
    names = [p.strip() for p in policy.split(",") if p.strip() and p.strip() != "none"]
    unknown = [p for p in names if p not in POLICIES]
    if unknown:
        raise ValueError(
            f"unknown augmentation {', '.join(unknown)} (known: {', '.join(POLICIES)}, none)"
        )
    return names


def augment(x: torch.Tensor, policy: list[str]) -> torch.Tensor:
    """Apply the named transformations in the order of :data:`POLICIES`."""
    transforms = {"translation": translation, "color": color, "cutout": cutout}
    for name in POLICIES:
        if name in policy:
            x = transforms[name](x)
    return x
