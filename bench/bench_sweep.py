"""Benchmark: the Problem 1.3 sweep (21 thetas, a JSD and a WD critic each) with the 42 critics
trained as two batched models (problem1/theta_sweep.py, torch.func + vmap) vs the naive baseline, 21
sequential trainings of one critic per estimator (estimate_jsd / estimate_wd in a loop), same steps,
same run. Prints seconds, the ratio, the largest errors of both against the true values, and the
batched sweep's seconds per 100 steps.
    python bench/bench_sweep.py [--steps 100]"""

import argparse
import math
import time

import numpy as np

from problem1.divergences import estimate_jsd, estimate_wd
from problem1.theta_sweep import THETAS, sweep
from samplers import distribution1
from utils.cli import get_device


def sequential(steps: int, lr: float, lam: float = 50.0, seed: int = 0) -> list[dict]:
    """The naive sweep: one critic at a time, same samples and seeds as problem1.sweep.sweep."""
    rows = []
    for i, theta in enumerate(THETAS):
        rng = np.random.default_rng([seed, i])
        p, q = distribution1(0, 512, rng=rng), distribution1(theta, 512, rng=rng)
        rows.append(
            {
                "theta": float(theta),
                "jsd": estimate_jsd(p, q, steps=steps, lr=lr, seed=seed + i),
                "wd": estimate_wd(p, q, lam=lam, steps=steps, lr=lr, seed=seed + i),
            }
        )
    return rows


def errors(rows) -> str:
    jsd = max(abs(r["jsd"] - (0.0 if r["theta"] == 0 else math.log(2))) for r in rows)
    wd = max(abs(r["wd"] - abs(r["theta"])) for r in rows)
    return f"max |JSD error| {jsd:.4f}, max |WD - |theta|| {wd:.4f}"


if __name__ == "__main__":
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--steps", type=int, default=100, help="critic steps for both versions (default: 100)"
    )
    ap.add_argument("--lr", type=float, default=4e-3)
    args = ap.parse_args()
    print(f"device: {get_device()}; {len(THETAS)} thetas x 2 estimators, {args.steps} steps each")
    sweep(5, 50.0, args.lr, 512, 0)  # warm-up
    t = time.perf_counter()
    stacked = sweep(args.steps, 50.0, args.lr, 512, 0)
    t_stacked = time.perf_counter() - t
    t = time.perf_counter()
    naive = sequential(args.steps, args.lr)
    t_naive = time.perf_counter() - t
    print(f"stacked (42 critics as 2 models): {t_stacked:6.1f} s   {errors(stacked)}")
    print(f"naive (42 sequential trainings):  {t_naive:6.1f} s   {errors(naive)}")
    print(
        f"ratio naive / stacked: {t_naive / t_stacked:.1f}x; stacked: "
        f"{100 * t_stacked / args.steps:.1f} s "
        "per 100 steps"
    )
