"""FID of sample directories against real SVHN test images, with features from the course's SVHN
classifier.

    python score_fid.py path/to/sample_directory/  # the course's call: "FID score: <value>"
    python score_fid.py DIR1 DIR2 ... [--csv F]    # a grader's: one classifier and reference
    python score_fid.py --save-stats ref.npz       # the reference's statistics (--reference)

Each directory must hold exactly one subdirectory of images (nested folders included, as the
course's ImageFolder reads them), resized to 32x32 and normalised to [-1, 1]; the features are the
classifier's 512-d ``extract_features``. The reference (``--reference``) is the SVHN test split when
``test_32x32.mat`` is present or downloadable, else its first 10,000 images (``svhn_test_10k.npz``),
or a statistics file; the line on stderr names it. FID = ||mu_p - mu_q||^2 +
Tr(S_p + S_q - 2 (S_p S_q)^{1/2}) (Eq. 1 of the assignment). The pieces, in problem3/:
classifier.py (the network, loaded safely), images.py (sample folders, test images), frechet.py
(features, statistics, distance).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Iterable

import numpy as np

from problem3.frechet import FidScorer, feature_statistics, frechet_distance
from problem3.images import REFERENCES
from utils.cli import UserError, cli


def calculate_fid_score(
    sample_feature_iterator: Iterable[np.ndarray], testset_feature_iterator: Iterable[np.ndarray]
) -> float:
    """FID (Eq. 1) between the features of the samples (q) and of the test set (p); iterators of 1-D
    arrays."""
    mu_q, sigma_q = feature_statistics(sample_feature_iterator)
    mu_p, sigma_p = feature_statistics(testset_feature_iterator)
    return frechet_distance(mu_p, sigma_p, mu_q, sigma_q)


def write_table(f, rows: list[dict]) -> None:
    table = csv.DictWriter(f, fieldnames=["directory", "fid", "reference"])
    table.writeheader()
    table.writerows(rows)


@cli
def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "directory", nargs="*", help="directories, each holding one subdirectory of images"
    )
    ap.add_argument(
        "--reference",
        default="auto",
        metavar="{" + ",".join(REFERENCES) + "} or FILE.npz",
        help="real images FIDs are measured against: auto (the SVHN test split, else its first "
        "10,000 images), svhn-test, svhn-test-10k, or a statistics file written by --save-stats",
    )
    ap.add_argument(
        "--model", help="the classifier (default: ./svhn_classifier.pt, else the data directory's)"
    )
    ap.add_argument(
        "--csv", help="also write directory, FID, reference to this CSV file (-: stdout)"
    )
    ap.add_argument(
        "--save-stats", help="write the reference's statistics to this .npz (a --reference)"
    )
    ap.add_argument(
        "--cache-dir",
        help="where reference statistics are cached (default: $A3_FID_CACHE, else "
        "<results>/fid_cache)",
    )
    ap.add_argument(
        "--data-dir",
        help="data directory: the test images and, if not at the top level, the classifier "
        "(default: $A3_DATA_DIR or ./data)",
    )
    ap.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
    args = ap.parse_args(argv)
    if not args.directory and not args.save_stats:
        raise UserError("name at least one sample directory (or --save-stats FILE)")
    missing = [d for d in args.directory if not Path(d).is_dir()]
    if missing:
        raise UserError(f"not a directory: {', '.join(missing)}")
    scorer = FidScorer(args.model, args.reference, args.data_dir, args.device, args.cache_dir)
    print(f"reference: {scorer.description}", file=sys.stderr)
    if args.save_stats:
        path = scorer.save_stats(args.save_stats)
        print(f"reference statistics written to {path}", file=sys.stderr)
    rows = []
    for directory in args.directory:
        fid = scorer.score_directory(directory)
        rows.append({"directory": directory, "fid": fid, "reference": scorer.description})
        print(
            f"FID score: {fid}" if len(args.directory) == 1 else f"{directory}: FID score: {fid}",
            flush=True,
        )
    if args.csv == "-":  # the table on standard output, after the lines above
        write_table(sys.stdout, rows)
    elif args.csv:
        try:
            with open(args.csv, "w", newline="") as f:
                write_table(f, rows)
        except OSError as e:
            raise UserError(f"cannot write {args.csv}: {e.strerror}") from None


if __name__ == "__main__":
    main()
