"""Benchmark: the Problem 1.3 sweep's critic training in steps per second, with the project's vectorized sampler
vs a naive per-sample Python sampler (the course's list-comprehension form) feeding the same training, and the
samplers alone in batches per second. Same run, after a warm-up; each figure is the best of --repeats.
    python bench/bench_sweep.py [--steps 300 --repeats 3]"""
import argparse
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.timing import best_seconds  # noqa: E402
from problem1.divergences import estimate_jsd, estimate_wd  # noqa: E402
from samplers import distribution1  # noqa: E402
from utils import get_device  # noqa: E402


def naive_distribution1(x, batch_size=512):
    while True:
        yield np.array([(x, random.uniform(0, 1)) for _ in range(batch_size)])


def vectorized(x):
    return distribution1(x, rng=np.random.default_rng(0))


def best_rate(fn, units, repeats):
    """units per second of fn(), best of ``repeats`` calls."""
    return units / best_seconds(fn, repeats)[1]


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print(f"device: {get_device()}")
    estimate_jsd(vectorized(0), vectorized(0.5), steps=50, eval_batches=1)  # warm-up
    for name, make in (("vectorized", vectorized), ("naive", naive_distribution1)):
        it = make(0.5)
        rate = best_rate(lambda: [next(it) for _ in range(200)], 200, args.repeats)
        print(f"sampler {name:10s}: {rate:9.0f} batches of 512/s")
    for name, est in (("JSD", estimate_jsd), ("WD (GP)", estimate_wd)):
        fast, naive = (best_rate(lambda: est(make(0), make(0.5), steps=args.steps, eval_batches=1), args.steps,
                                 args.repeats) for make in (vectorized, naive_distribution1))
        print(f"{name:8s} critic: {fast:6.0f} steps/s (vectorized sampler) vs {naive:6.0f} steps/s (naive); "
              f"ratio {fast / naive:.2f}x")
