"""Training iterations per second from a Problem 3 train_log.csv (one row per iteration, with
elapsed_s), between its 10th row and its last: start-up, data loading and the reference statistics
stay out.
    python bench/iteration_rate.py LABEL path/to/train_log.csv"""

import csv
import os
import sys

if __name__ == "__main__":
    label, path = sys.argv[1:3]
    if not os.path.isfile(path):
        sys.exit(f"{label}: no log {path} (the run reached no checkpoint; run longer)")
    rows = list(csv.DictReader(open(path)))
    if len(rows) < 11:
        sys.exit(f"{label}: only {len(rows)} iterations logged in {path}; run longer")
    a, b = rows[9], rows[-1]
    rate = (int(b["step"]) - int(a["step"])) / (float(b["elapsed_s"]) - float(a["elapsed_s"]))
    print(f"{label}: {rate:.1f} it/s ({b['step']} iterations)")
