"""What the FID mixes, measured apart (Question 3.1): fidelity and coverage, sharpness, diversity.

Each measure compares a set of generated images with a set of real ones of the same size:

* precision and recall of the generated distribution (Kynkaenniemi et al., 2019): each set's
  manifold is the union of balls around its points, of radius the distance to the point's k-th
  nearest neighbour in its own set (k = 3, as published), in the course classifier's 512-d features.
  Precision: the fraction of generated points inside the real manifold (fidelity); recall: the
  fraction of real points inside the generated one (coverage).
* sharpness: the mean squared response of a 3x3 Laplacian on the grey images (high-frequency
  energy), reported relative to the real images' (1: as sharp; below 1: blurrier).
* diversity: the entropy (bits) of the classifier's predicted classes over the set (log2 10 = 3.32
  for ten equally frequent classes), and the mean pairwise feature distance relative to the real
  set's (1: as spread out; 0: one repeated image).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from problem3.images import to_classifier_input

K = 3  # nearest neighbours of the manifold radii, as Kynkaenniemi et al. publish
LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def knn_radii(features: torch.Tensor, k: int = K) -> torch.Tensor:
    """(N,) distance of each point to its k-th nearest neighbour in its own set (not itself)."""
    d = torch.cdist(features, features)
    d.fill_diagonal_(float("inf"))
    return d.kthvalue(k, dim=1).values


def inside(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor) -> torch.Tensor:
    """(N,) whether each point lies in at least one ball (centre, radius)."""
    return (torch.cdist(points, centres) <= radii[None, :]).any(dim=1)


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = K) -> tuple[float, float]:
    """(precision, recall) of ``fake`` (N, d) against ``real`` (M, d) features."""
    real_t = torch.as_tensor(real, dtype=torch.float64)
    fake_t = torch.as_tensor(fake, dtype=torch.float64)
    precision = inside(fake_t, real_t, knn_radii(real_t, k)).double().mean().item()
    recall = inside(real_t, fake_t, knn_radii(fake_t, k)).double().mean().item()
    return precision, recall


def laplacian_energy(images: np.ndarray) -> float:
    """Mean squared 3x3 Laplacian response of uint8 images (N, H, W, 3) on grey levels in [0, 1]."""
    grey = torch.as_tensor(images, dtype=torch.float64).mean(dim=3, keepdim=True) / 255.0
    response = F.conv2d(grey.permute(0, 3, 1, 2), LAPLACIAN.double()[None, None])
    return response.pow(2).mean().item()


def class_entropy(labels: np.ndarray, classes: int = 10) -> float:
    """Entropy in bits of the distribution of integer labels over ``classes`` classes."""
    p = np.bincount(labels, minlength=classes) / len(labels)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def mean_pairwise_distance(features: np.ndarray) -> float:
    """Mean Euclidean distance between the distinct pairs of points of (N, d) features."""
    f = torch.as_tensor(features, dtype=torch.float64)
    d = torch.cdist(f, f)
    n = len(f)
    return (d.sum() / (n * (n - 1))).item()


def compare(fake: dict, real: dict) -> dict:
    """Every measure of a generated set against a real one. Each set is a dict of ``images``
    uint8 (N, 32, 32, 3), ``features`` (N, 512) and ``labels`` (N,) predicted classes."""
    precision, recall = precision_recall(real["features"], fake["features"])
    return {
        "precision": precision,
        "recall": recall,
        "sharpness": laplacian_energy(fake["images"]) / laplacian_energy(real["images"]),
        "class_entropy": class_entropy(fake["labels"]),
        "spread": mean_pairwise_distance(fake["features"])
        / mean_pairwise_distance(real["features"]),
    }


@torch.inference_mode()
def describe(model, images: np.ndarray, batch_size: int = 500) -> dict:
    """``images`` uint8 (N, 32, 32, 3) with their classifier features (N, 512) and predicted
    classes (N,), as :func:`compare` takes them. ``model``: the course's classifier (eval mode)."""
    device = next(model.parameters()).device
    features, labels = [], []
    for i in range(0, len(images), batch_size):
        f = model.extract_features(to_classifier_input(images[i : i + batch_size]).to(device))
        features.append(f.double().cpu())
        labels.append(model.mlp(f).argmax(dim=1).cpu())
    return {
        "images": images,
        "features": torch.cat(features).numpy(),
        "labels": torch.cat(labels).numpy(),
    }


def summarise(per_seed: dict) -> dict:
    """Each measure's mean over seeds, beside the per-seed values ({seed: compare(...)})."""
    keys = next(iter(per_seed.values())).keys()
    return {
        "per_seed": per_seed,
        **{k: float(np.mean([m[k] for m in per_seed.values()])) for k in keys},
    }
