"""problem3/quality.py: the measures of Question 3.1 on sets with known answers."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from problem3 import quality


def _images(n, seed=0):
    """n random uint8 images (n, 32, 32, 3)."""
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)


def test_identical_sets_have_precision_and_recall_one():
    f = np.random.default_rng(0).normal(size=(50, 8))
    assert quality.precision_recall(f, f.copy()) == (1.0, 1.0)


def test_one_repeated_image_has_no_coverage_or_spread():
    real = np.random.default_rng(0).normal(size=(40, 8))
    fake = np.repeat(real[:1], 40, axis=0)  # one real point, 40 times
    precision, recall = quality.precision_recall(real, fake)
    assert precision == 1.0  # a real point: inside the real manifold
    assert recall == pytest.approx(1 / 40)  # the fake manifold is that point alone
    assert quality.mean_pairwise_distance(fake) == 0.0
    assert quality.class_entropy(np.zeros(40, dtype=int)) == 0.0


def test_far_away_samples_have_precision_zero():
    real = np.random.default_rng(0).normal(size=(30, 4))
    assert quality.precision_recall(real, real + 100.0) == (0.0, 0.0)


def test_knn_radii_are_the_kth_neighbour_distance():
    points = torch.tensor([[0.0], [1.0], [3.0], [6.0]], dtype=torch.float64)
    # neighbours of 0: 1, 3, 6 -> the third is 6; of 6: 3, 5, 6 -> 6
    assert quality.knn_radii(points, k=3).tolist() == [6.0, 5.0, 3.0, 6.0]


def test_a_blurred_copy_is_less_sharp_and_a_copy_as_sharp():
    real = _images(20)
    x = torch.as_tensor(real, dtype=torch.float64).permute(0, 3, 1, 2)
    blurred = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    blurred = blurred.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    ratio = quality.laplacian_energy(blurred) / quality.laplacian_energy(real)
    assert ratio < 0.5
    assert quality.laplacian_energy(real.copy()) == quality.laplacian_energy(real)
    flat = np.full((3, 32, 32, 3), 128, dtype=np.uint8)
    assert quality.laplacian_energy(flat) == 0.0


def test_class_entropy_of_ten_equal_classes_is_log2_10():
    assert quality.class_entropy(np.arange(1000) % 10) == pytest.approx(np.log2(10))
    assert quality.class_entropy(np.array([0, 1])) == pytest.approx(1.0)


def test_compare_against_itself_is_the_neutral_point():
    real = {
        "images": _images(30),
        "features": np.random.default_rng(1).normal(size=(30, 16)),
        "labels": np.arange(30) % 10,
    }
    m = quality.compare(real, real)
    assert m["precision"] == m["recall"] == m["sharpness"] == m["spread"] == 1.0
    assert m["class_entropy"] == pytest.approx(np.log2(10))
    summary = quality.summarise({"0": m, "1": {**m, "recall": 0.5}})
    assert summary["recall"] == 0.75 and summary["per_seed"]["1"]["recall"] == 0.5
