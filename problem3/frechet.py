"""FID maths and its reference: features, their statistics, the Frechet distance (Eq. 1), the cached
statistics of the real test images, and a scorer that holds both."""

from __future__ import annotations

import argparse
import copy
import hashlib
import os
import sys
import warnings
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch

from problem3.classifier import Classifier, default_classifier_path, load_classifier
from problem3.data import REFERENCES, read_reference_images, reference_file
from problem3.images import list_images, load_images, to_classifier_input
from utils.cli import UserError
from utils.files import WriteError, file_hash, write_npz
from utils.runtime import ROOT


@torch.inference_mode()
def extract_features(
    model: Classifier, images: np.ndarray, batch_size: int = 500
) -> Iterator[np.ndarray]:
    """Yield one 1-D float64 feature vector (512,) per image of uint8 (N, 32, 32, 3)."""
    device = next(model.parameters()).device
    for i in range(0, len(images), batch_size):
        feats = model.extract_features(to_classifier_input(images[i : i + batch_size]).to(device))
        yield from feats.double().cpu().numpy()


def feature_statistics(features: Iterable[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(mean (d,), covariance (d, d)) of an iterable of 1-D feature vectors (unbiased
    covariance)."""
    f = np.stack([np.asarray(v, dtype=np.float64).ravel() for v in features])
    if len(f) < 2:
        raise ValueError("need at least two feature vectors")
    if len(f) <= f.shape[1]:
        warnings.warn(
            f"{len(f)} samples for {f.shape[1]}-d features: the covariance is singular and the "
            "FID is biased; use more samples",
            RuntimeWarning,
            stacklevel=2,
        )
    return f.mean(0), np.cov(f, rowvar=False)


def _sqrt_psd(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu_p, sigma_p, mu_q, sigma_q) -> float:
    """||mu_p - mu_q||^2 + Tr(S_p) + Tr(S_q) - 2 Tr((S_p S_q)^{1/2}).

    Tr((S_p S_q)^{1/2}) = Tr((S_p^{1/2} S_q S_p^{1/2})^{1/2}): the eigenvalues of S_p S_q equal
    those of the symmetric PSD matrix S_p^{1/2} S_q S_p^{1/2}, so the trace is the sum of the square
    roots of its (real, clipped at 0) eigenvalues; no complex residue."""
    mu_p, mu_q = np.asarray(mu_p, np.float64), np.asarray(mu_q, np.float64)
    sigma_p, sigma_q = np.asarray(sigma_p, np.float64), np.asarray(sigma_q, np.float64)
    if (
        mu_p.shape != mu_q.shape
        or sigma_p.shape != sigma_q.shape
        or sigma_p.shape != mu_p.shape * 2
    ):
        raise ValueError(
            f"shape mismatch: {mu_p.shape}, {sigma_p.shape} vs {mu_q.shape}, {sigma_q.shape}"
        )
    root_p = _sqrt_psd(sigma_p)
    middle = root_p @ sigma_q @ root_p
    tr_covmean = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    diff = mu_p - mu_q
    fid = float(diff @ diff + np.trace(sigma_p) + np.trace(sigma_q) - 2 * tr_covmean)
    return max(fid, 0.0)  # >= 0 in exact arithmetic: a negative value is rounding (identical sets)


STATS_KEYS = ("mu", "sigma", "description", "classifier", "source", "checksum")


def _stats_checksum(
    mu: np.ndarray, sigma: np.ndarray, description: str, classifier: str, source: str
) -> str:
    h = hashlib.sha256(f"{description}|{classifier}|{source}".encode())
    h.update(np.ascontiguousarray(mu, np.float64).data)
    h.update(np.ascontiguousarray(sigma, np.float64).data)
    return h.hexdigest()


def write_stats(path: Path, mu, sigma, description: str, classifier: str, source: str) -> Path:
    """Save reference statistics as an .npz: mu (d,), sigma (d, d), what they describe, the SHA-256
    prefixes of the classifier and of the images they come from, and a checksum of all of it."""
    return write_npz(
        path,
        {
            "mu": mu,
            "sigma": sigma,
            "description": np.array(description),
            "classifier": np.array(classifier),
            "source": np.array(source),
            "checksum": np.array(_stats_checksum(mu, sigma, description, classifier, source)),
        },
    )


def read_stats(path: Path, classifier: str) -> tuple[np.ndarray, np.ndarray, str, str]:
    """(mu, sigma, description, source) of a statistics file written by :func:`write_stats`; one
    clear error if it is damaged, altered, or made with another classifier than the one whose
    SHA-256 prefix is ``classifier``."""
    try:
        with np.load(path) as d:
            mu, sigma, description, made_by, source, checksum = (d[k] for k in STATS_KEYS)
        description, made_by, source, checksum = (
            str(description),
            str(made_by),
            str(source),
            str(checksum),
        )
    # any failure: truncated, not an npz, missing keys: a bad file either way
    except Exception as e:  # noqa: BLE001
        raise UserError(
            f"{path} is not a statistics file of this project ({type(e).__name__})"
        ) from None
    if (
        mu.ndim != 1
        or sigma.shape != mu.shape * 2
        or checksum != _stats_checksum(mu, sigma, description, made_by, source)
    ):
        raise UserError(f"{path}: its statistics do not match their checksum (damaged or altered)")
    if made_by != classifier:
        raise UserError(
            f"{path} was computed with another classifier (SHA-256 {made_by}..., this one "
            f"{classifier}"
            "...): its statistics are not comparable"
        )
    return mu, sigma, description, source


def default_cache_dir() -> Path:
    """Where reference statistics are cached: $A3_FID_CACHE, else <results>/fid_cache."""
    if os.environ.get("A3_FID_CACHE"):
        return Path(os.environ["A3_FID_CACHE"])
    # made when first written
    return Path(os.environ.get("A3_RESULTS_DIR") or ROOT / "results") / "fid_cache"


def reference_statistics(
    model: Classifier,
    model_path: Path,
    reference: str = "auto",
    root=None,
    cache_dir: Path | None = None,
) -> tuple[np.ndarray, np.ndarray, str]:
    """(mu, sigma, description) of the reference images' features. ``reference``: a name of
    :func:`problem3.data.reference_file`, or a statistics file (:func:`write_stats`). Computed
    statistics are cached by classifier and data hashes, so a hit reads no image; a damaged cache is
    recomputed, and a cache that cannot be written is only a note."""
    classifier = file_hash(model_path)[:16]
    if reference not in REFERENCES:  # a statistics file, by its path (any name)
        if not Path(reference).is_file():
            raise UserError(
                f"--reference {reference}: no such file (a statistics file written by "
                f"score_fid.py --save-stats, or one of {', '.join(REFERENCES)})"
            )
        mu, sigma, description, _ = read_stats(Path(reference), classifier)
        return mu, sigma, description
    ref = reference_file(reference, root)
    source = file_hash(ref.path)[:16]
    part = f"{ref.part[0]}-{ref.part[1]}_" if ref.part else ""
    cache = (
        Path(cache_dir or default_cache_dir())
        / f"stats_{ref.path.stem}_{ref.kind}_{part}{classifier}_{source}.npz"
    )
    if cache.exists():
        try:
            mu, sigma, description, cached_source = read_stats(cache, classifier)
            if cached_source == source:
                return mu, sigma, description
        except UserError as e:
            print(f"note: recomputing the reference statistics: {e}", file=sys.stderr)
    images, description = read_reference_images(ref, root)
    mu, sigma = feature_statistics(extract_features(model, images))
    try:
        write_stats(cache, mu, sigma, description, classifier, source)
    except WriteError as e:
        print(
            f"note: reference statistics not cached ({e}); set $A3_FID_CACHE or --cache-dir to a "
            "writable "
            "directory to keep them",
            file=sys.stderr,
        )
    return mu, sigma, description


class FidScorer:
    """The classifier and the reference statistics, loaded once; scores sets of images against them.

    ``reference``: auto (SVHN test split if available, else its first 10,000 images), svhn-test,
    svhn-test-10k, or a statistics .npz. ``description`` names the reference and its size, e.g.
    "SVHN test, first 10,000 images"."""

    def __init__(
        self, model_path=None, reference: str = "auto", root=None, device=None, cache_dir=None
    ):
        self.model_path = Path(model_path) if model_path else default_classifier_path(root)
        self.model = load_classifier(self.model_path, device)
        self.mu, self.sigma, self.description = reference_statistics(
            self.model, self.model_path, reference, root, cache_dir
        )

    def against(self, reference: str, root=None, cache_dir=None) -> "FidScorer":
        """A scorer with this one's classifier (not loaded again) and another reference."""
        other = copy.copy(self)
        other.mu, other.sigma, other.description = reference_statistics(
            self.model, self.model_path, reference, root, cache_dir
        )
        return other

    def score_images(self, images: np.ndarray) -> float:
        """FID of uint8 images (N, 32, 32, 3), N >= 2, against the reference."""
        mu, sigma = feature_statistics(extract_features(self.model, images))
        if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
            raise UserError(f"the classifier {self.model_path} gives non-finite features: no FID")
        return frechet_distance(self.mu, self.sigma, mu, sigma)

    def score_directory(self, directory) -> float:
        """FID of the images under ``directory``'s single subdirectory (as ``python score_fid.py
        directory``)."""
        return self.score_images(load_images(list_images(directory)))

    def save_stats(self, path: Path) -> Path:
        """Write the reference statistics to ``path`` (:func:`write_stats`)."""
        return write_stats(
            path,
            self.mu,
            self.sigma,
            self.description,
            file_hash(self.model_path)[:16],
            "reference",
        )


def add_fid_flags(ap: argparse.ArgumentParser) -> None:
    """--reference and --model: the real images FIDs are measured against, and the classifier."""
    ap.add_argument(
        "--reference",
        metavar="{" + ",".join(REFERENCES) + "} or FILE.npz",
        help="real images FIDs are measured against (problem3/data.py, reference_file): selection "
        "(choices and monitoring), reported (the reported FID), auto (score_fid.py's: the SVHN "
        "test "
        "split, else its first 10,000 images), svhn-test, svhn-test-10k, or a statistics file "
        "written by score_fid.py --save-stats",
    )
    ap.add_argument(
        "--model",
        help="classifier for FID features (default: ./svhn_classifier.pt, else the data "
        "directory's)",
    )
