"""Problem 1.3's experiment: JSD and WD estimates for p = (0, Z), q = (theta, Z), Z ~ U[0, 1], at 21 thetas."""
from __future__ import annotations

import math

import numpy as np

from problem1.divergences import estimate_jsds, estimate_wds
from samplers import distribution1
from utils.cli import progress

THETAS = np.round(np.linspace(-1, 1, 21), 1)


def sweep(steps: int, lam: float, lr: float, batch_size: int, seed: int, device=None,
          thetas=THETAS) -> list[dict]:
    """One row per theta with the JSD and WD estimates and their true values. Each theta has its own samples
    (numpy stream (seed, i)) and its own critics (initialised from seed + i); the critics of all thetas train
    together as one stacked model (problem1.critics.StackedMLP), first the JSD ones, then the WD ones."""
    streams = [np.random.default_rng([seed, i]) for i in range(len(thetas))]
    ps = [distribution1(0, batch_size, rng=rng) for rng in streams]
    qs = [distribution1(theta, batch_size, rng=rng) for theta, rng in zip(thetas, streams)]
    kw = dict(steps=steps, lr=lr, seeds=[seed + i for i in range(len(thetas))], device=device)
    with progress(total=2, desc="theta sweep (JSD, then WD critics)") as bar:
        jsd = estimate_jsds(ps, qs, **kw)
        bar.update()
        wd = estimate_wds(ps, qs, lam=lam, **kw)
        bar.update()
    return [{"theta": float(theta), "jsd": j, "wd": w, "jsd_true": 0.0 if theta == 0 else math.log(2),
             "wd_true": abs(float(theta))} for theta, j, w in zip(thetas, jsd, wd)]
