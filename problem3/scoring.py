"""What Problem 3's scoring scripts share: the references its FIDs are measured against, the
generator's samples as images, and the FID of every training checkpoint (the monitoring curve).

Training keeps the sampling generator's weights at each checkpoint (``snapshots`` in the checkpoint,
utils/training.py) and computes no FID; :func:`checkpoint_fids` scores them afterwards, with the
same 1,000 fixed codes at every checkpoint, against the selection images.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from problem3.common import fast_layout, fixed_latents
from problem3.data import load_training_images, to_uint8
from problem3.frechet import FidScorer
from problem3.images import TEST_10K, read_npz_images, reference_images, svhn_file
from problem3.models import Generator, recalibrate_batchnorm
from utils.cli import UserError, data_dir
from utils.training import load_checkpoint

MONITOR_SEED = 4321  # the codes of the monitoring curve, the same at every checkpoint


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


def add_fid_flags(ap: argparse.ArgumentParser) -> None:
    """--reference and --model: the real images FIDs are measured against, and the classifier."""
    ap.add_argument(
        "--reference",
        metavar="{" + ",".join(REFERENCES) + "} or FILE.npz",
        help="real images FIDs are measured against (problem3/data.py, fid_reference): selection "
        "(choices and monitoring), reported (the reported FID), auto (score_fid.py's: the SVHN "
        "test split, else its first 10,000 images), svhn-test, svhn-test-10k, or a statistics "
        "file written by score_fid.py --save-stats",
    )
    ap.add_argument(
        "--model",
        help="classifier for FID features (default: ./svhn_classifier.pt, else the data "
        "directory's)",
    )


@torch.no_grad()
def generate_uint8(g, z: torch.Tensor, batch_size: int = 500) -> np.ndarray:
    """uint8 images (N, 32, 32, 3) of g(z) for z (N, 100), in batches, g in eval mode."""
    was_training = g.training
    g.eval()
    batches = [g(z[i : i + batch_size]) for i in range(0, len(z), batch_size)]
    g.train(was_training)
    if not all(b.isfinite().all() for b in batches):
        raise UserError("the generator's images are not finite (nan or inf): no FID for them")
    return np.concatenate([to_uint8(b) for b in batches])


def checkpoint_fids(path: Path, scorer: FidScorer, n: int = 1000, device="cpu") -> list[dict]:
    """[{step, fid}] for every snapshot of the training checkpoint ``path``: its sampling
    generator at that step (batch-norm statistics re-estimated on the prior, as
    problem3.models.sampling_generator does), on ``n`` fixed codes, against ``scorer``'s
    reference."""
    state = load_checkpoint(path, device)
    snapshots = state.get("snapshots") or {}
    if not snapshots:
        raise UserError(f"{path} keeps no generator snapshots: retrain it with this version")
    z = fixed_latents(n, seed=MONITOR_SEED, device=device)
    rows = []
    for step in sorted(snapshots):
        g = fast_layout(Generator(width=state["meta"]["width"]), device)
        g.load_state_dict(snapshots[step])
        rows.append(
            {"step": step, "fid": scorer.score_images(generate_uint8(recalibrate_batchnorm(g), z))}
        )
    return rows
