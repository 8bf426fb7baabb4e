"""FID of a directory of samples against real SVHN test images, with features from the course's SVHN classifier.

    python score_fid.py path/to/sample_directory/ [--model svhn_classifier.pt] [--data-dir DIR]

``sample_directory`` must hold exactly one subdirectory (e.g. ``samples/``); every image inside it, nested
folders included, is scored (the course's ImageFolder reading). Images are resized to 32x32, scaled to
[0, 1] and normalised to [-1, 1]; features are the classifier's 512-d ``extract_features`` (its
convolutional stack). The reference is the SVHN test split (26,032 images) when ``test_32x32.mat`` is in
the data directory or can be downloaded, else the first 10,000 test images of ``svhn_test_10k.npz``; the
printed line names which. The classifier is ``--model``, else ./svhn_classifier.pt, else the one in the
data directory.

    FID = ||mu_p - mu_q||^2 + Tr(S_p + S_q - 2 (S_p S_q)^{1/2})     (Eq. 1 of the assignment)

The course's entry point and its ``calculate_fid_score``; the pieces live in problem3/: classifier.py (the
network and its safe loading), images.py (reading sample folders), frechet.py (features, statistics, the
distance, the cached reference statistics).
"""
from __future__ import annotations

import argparse
import sys
from typing import Iterable

import numpy as np

from problem3.frechet import FidScorer, feature_statistics, frechet_distance
from utils.cli import cli


def calculate_fid_score(sample_feature_iterator: Iterable[np.ndarray],
                        testset_feature_iterator: Iterable[np.ndarray]) -> float:
    """FID (Eq. 1) between the features of the samples (q) and of the test set (p); iterators of 1-D arrays."""
    mu_q, sigma_q = feature_statistics(sample_feature_iterator)
    mu_p, sigma_p = feature_statistics(testset_feature_iterator)
    return frechet_distance(mu_p, sigma_p, mu_q, sigma_q)


@cli
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("directory", help="directory holding one subdirectory of sample images")
    ap.add_argument("--model", default=None, help="classifier (.pt of the course, or state-dict .npz); default: "
                                                  "./svhn_classifier.pt, else the one in the data directory")
    ap.add_argument("--reference", default="auto", choices=["auto", "svhn-test", "svhn-test-10k"],
                    help="real test images to compare with (default: auto = the SVHN test split, 26,032 images, "
                         "when test_32x32.mat is present or downloadable, else its first 10,000 images)")
    ap.add_argument("--data-dir", default=None, help="data directory: reference images and, if not at the top "
                                                     "level, the classifier (default: $A3_DATA_DIR or ./data)")
    ap.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    args = ap.parse_args(argv)
    scorer = FidScorer(args.model, args.reference, args.data_dir, args.device)
    fid = scorer.score_directory(args.directory)
    print(f"reference: {scorer.description}", file=sys.stderr)
    print("FID score:", fid)


if __name__ == "__main__":
    main()
