"""Benchmark: critic training steps per second in the Problem 1.3 sweep, vectorized sampler vs a naive
per-sample Python sampler (the course's list-comprehension form) feeding the same training.
    python bench/bench_sweep.py [--steps 400]"""
import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from problem1.divergences import estimate_jsd, estimate_wd  # noqa: E402
from samplers import distribution1  # noqa: E402
from utils import get_device  # noqa: E402


def naive_distribution1(x, batch_size=512):
    while True:
        yield np.array([(x, random.uniform(0, 1)) for _ in range(batch_size)])


def rate(make, estimator, steps):
    t = time.perf_counter()
    estimator(make(0), make(0.5), steps=steps, eval_batches=1)
    return steps / (time.perf_counter() - t)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=400)
    steps = ap.parse_args().steps
    print(f"device: {get_device()}")
    for name, est in (("JSD", estimate_jsd), ("WD (GP)", estimate_wd)):
        fast = rate(lambda x: distribution1(x, rng=np.random.default_rng(0)), est, steps)
        naive = rate(naive_distribution1, est, steps)
        print(f"{name:8s} critic: {fast:8.0f} steps/s (vectorized sampler) vs {naive:8.0f} steps/s (naive); "
              f"ratio {fast / naive:.2f}x")
