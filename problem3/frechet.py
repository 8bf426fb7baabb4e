"""FID (Eq. 1 of the assignment) in the classifier's 512-d features: the features, their
statistics, the Frechet distance, the reference's statistics (cached, or read from a statistics
file), and a scorer that holds the classifier and a reference."""

from __future__ import annotations

import copy
import hashlib
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch

from problem3.classifier import Classifier, classifier_id, default_classifier_path, load_classifier
from problem3.images import (
    REFERENCES,
    list_images,
    load_images,
    reference_images,
    to_classifier_input,
)
from utils.cli import ROOT, UserError

Reference = (
    str | tuple[np.ndarray, str]
)  # a name of REFERENCES, a statistics file, or (images, description)


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
    if mu_p.shape != mu_q.shape or not sigma_p.shape == sigma_q.shape == mu_p.shape * 2:
        shapes = f"{mu_p.shape}, {sigma_p.shape} vs {mu_q.shape}, {sigma_q.shape}"
        raise ValueError(f"shape mismatch: {shapes}")
    root_p = _sqrt_psd(sigma_p)
    middle = root_p @ sigma_q @ root_p
    tr_covmean = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    diff = mu_p - mu_q
    fid = float(diff @ diff + np.trace(sigma_p) + np.trace(sigma_q) - 2 * tr_covmean)
    return max(fid, 0.0)  # >= 0 in exact arithmetic: a negative value is rounding (identical sets)


def _checksum(mu, sigma, description: str, classifier: str) -> str:
    h = hashlib.sha256(f"{description}|{classifier}".encode())
    h.update(np.ascontiguousarray(mu, np.float64).data)
    h.update(np.ascontiguousarray(sigma, np.float64).data)
    return h.hexdigest()


def write_stats(path, mu, sigma, description: str, classifier: str) -> Path:
    """Save statistics as an .npz: mu (d,), sigma (d, d), what they describe, the id of the
    classifier (:func:`~problem3.classifier.classifier_id`) and a checksum of all of it; written to
    a temporary file and renamed, so a failed write leaves any previous file as it was."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # a temporary file of its own: two runs writing one cache never mix their bytes
        with tempfile.NamedTemporaryFile(
            dir=path.parent, prefix=f".{path.name}.", delete=False
        ) as f:
            tmp = Path(f.name)
            checksum = _checksum(mu, sigma, description, classifier)
            np.savez(f, mu=mu, sigma=sigma, description=description, classifier=classifier,
                     checksum=checksum)  # fmt: skip
        os.replace(tmp, path)
    except OSError as e:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise UserError(f"cannot write {path}: {e.strerror or e}") from None
    return path


def read_stats(path, classifier: str) -> tuple[np.ndarray, np.ndarray, str]:
    """(mu, sigma, description) of a file written by :func:`write_stats`; one clear error if it is
    damaged, altered, or made with another classifier than the one whose id is ``classifier``."""
    try:
        with np.load(path) as d:
            mu, sigma = d["mu"], d["sigma"]
            description, made_by, checksum = (
                str(d[k]) for k in ("description", "classifier", "checksum")
            )
    except Exception as e:  # noqa: BLE001 - truncated, not an npz, missing keys: a bad file
        raise UserError(
            f"{path} is not a statistics file of this project ({type(e).__name__})"
        ) from None
    if (
        mu.ndim != 1
        or sigma.shape != mu.shape * 2
        or checksum != _checksum(mu, sigma, description, made_by)
    ):
        raise UserError(f"{path}: its statistics do not match their checksum (damaged or altered)")
    if made_by != classifier:
        raise UserError(
            f"{path} was computed with another classifier (id {made_by}, this one {classifier}): "
            "its statistics are not comparable"
        )
    return mu, sigma, description


def default_cache_dir() -> Path:
    """Where reference statistics are cached: $A3_FID_CACHE, else <results>/fid_cache."""
    if os.environ.get("A3_FID_CACHE"):
        return Path(os.environ["A3_FID_CACHE"])
    return Path(os.environ.get("A3_RESULTS_DIR") or ROOT / "results") / "fid_cache"


def reference_statistics(
    model: Classifier, reference: Reference = "auto", root=None, cache_dir=None
) -> tuple[np.ndarray, np.ndarray, str]:
    """(mu, sigma, description) of the reference's features. ``reference``: a name of
    :data:`~problem3.images.REFERENCES`, a statistics file (:func:`write_stats`), or (images,
    description). Statistics are cached by the images' and the classifier's hashes, so a hit
    extracts no feature; a damaged cache is recomputed, one that cannot be written is a note."""
    classifier = classifier_id(model)
    if isinstance(reference, str) and reference not in REFERENCES:  # a statistics file
        if not Path(reference).is_file():
            raise UserError(
                f"--reference {reference}: no such file (a statistics file written by "
                f"score_fid.py --save-stats, or one of {', '.join(REFERENCES)})"
            )
        return read_stats(reference, classifier)
    images, description = (
        reference_images(reference, root) if isinstance(reference, str) else reference
    )
    source = hashlib.sha256(np.ascontiguousarray(images).data).hexdigest()[:16]
    cache = Path(cache_dir or default_cache_dir()) / f"stats_{classifier}_{source}.npz"
    if cache.exists():
        try:
            return read_stats(cache, classifier)
        except UserError as e:
            print(f"note: recomputing the reference statistics: {e}", file=sys.stderr)
    mu, sigma = feature_statistics(extract_features(model, images))
    try:
        write_stats(cache, mu, sigma, description, classifier)
    except UserError as e:
        print(f"note: reference statistics not cached ({e}); set --cache-dir", file=sys.stderr)
    return mu, sigma, description


class FidScorer:
    """The classifier and the reference statistics, loaded once; scores sets of images against them.

    ``reference``: see :func:`reference_statistics`; ``description`` names the reference and its
    size, e.g. "SVHN test, first 10,000 images"."""

    def __init__(self, model_path=None, reference: Reference = "auto", root=None, device=None,
                 cache_dir=None):  # fmt: skip
        self.model_path = Path(model_path) if model_path else default_classifier_path(root)
        self.model = load_classifier(self.model_path, device)
        self.mu, self.sigma, self.description = reference_statistics(
            self.model, reference, root, cache_dir
        )

    def against(self, reference: Reference, root=None, cache_dir=None) -> FidScorer:
        """A scorer with this one's classifier (not loaded again) and another reference."""
        other = copy.copy(self)
        other.mu, other.sigma, other.description = reference_statistics(
            self.model, reference, root, cache_dir
        )
        return other

    def score_images(self, images: np.ndarray) -> float:
        """FID of uint8 images (N, 32, 32, 3), N >= 2, against the reference."""
        mu, sigma = feature_statistics(extract_features(self.model, images))
        if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
            raise UserError(f"the classifier {self.model_path} gives non-finite features: no FID")
        return frechet_distance(self.mu, self.sigma, mu, sigma)

    def score_directory(self, directory) -> float:
        """FID of the images under ``directory``'s one subdirectory (as ``score_fid.py DIR``)."""
        return self.score_images(load_images(list_images(directory)))

    def save_stats(self, path) -> Path:
        """Write the reference statistics to ``path`` (:func:`write_stats`)."""
        classifier = classifier_id(self.model)
        return write_stats(path, self.mu, self.sigma, self.description, classifier)
