"""Problem 1.3's experiment: JSD and WD estimates for p = (0, Z), q = (theta, Z), Z ~ U[0, 1], at 21
thetas.

The 21 critics of each estimator train at once, as one batched model: torch.func stacks their
parameters and ``vmap`` runs :class:`problem1.critics.MLP` over the stack, on the same objectives as
the single estimators of problem1/divergences.py. Adam is element-wise and the loss is the sum of
the 21 critics' losses, so each critic trains as it would alone; one batched step costs far less
than 21 small ones.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch.func import functional_call, stack_module_state, vmap

from problem1.critics import MLP, gradient_penalty, jsd_objective, wd_objective
from problem1.divergences import check_pair, draw
from samplers import distribution1
from utils.cli import get_device, progress

THETAS = np.round(np.linspace(-1, 1, 21), 1)


def stacked_mlps(seeds: list[int], in_dim: int, hidden: int, device: torch.device):
    """One MLP per seed (each initialised as it would be alone), stacked: returns (parameters,
    critics) where ``critics`` maps (B, N, in_dim) to (B, N) through the B MLPs and ``parameters``
    is what to optimise."""
    mlps = []
    for seed in seeds:
        torch.manual_seed(seed)
        mlps.append(MLP(in_dim, hidden).to(device))
    params, buffers = stack_module_state(mlps)
    # the structure only; the weights come from ``params``
    template = copy.deepcopy(mlps[0]).to("meta")

    def one(param, buffer, x):
        return functional_call(template, (param, buffer), (x,))

    batched = vmap(one)
    return list(params.values()), lambda x: batched(params, buffers, x)


def estimate_many(
    ps,
    qs,
    seeds,
    *,
    wd: bool,
    lam: float,
    steps: int,
    lr: float,
    hidden: int = 64,
    eval_batches: int = 100,
    device=None,
) -> list[float]:
    """estimate_jsd (``wd`` False) or estimate_wd (True) of every pair (ps[b], qs[b]), critic b
    seeded by seeds[b], all B critics trained together. Returns B estimates."""
    device = get_device(device)

    def batches():  # (B, N, dim) each: the next batch of every p and every q
        return (
            torch.stack([draw(p, device) for p in ps]),
            torch.stack([draw(q, device) for q in qs]),
        )

    # the critics on x and on y, (B, N) each, in one batched call (half the calls' overhead)
    def scores(x, y):
        return critics(torch.cat([x, y], dim=1)).split([x.shape[1], y.shape[1]], dim=1)

    x, y = batches()
    check_pair(x, y)
    params, critics = stacked_mlps(seeds, x.shape[-1], hidden, device)
    opt = torch.optim.Adam(params, lr=lr)
    for _ in range(steps):
        # the sum over critics of each one's loss, as in divergences.py: each gradient is its own
        # critic's
        if wd:
            penalty = gradient_penalty(critics, x, y, lam, sample_dims=2)
            loss = -(wd_objective(*scores(x, y)) - penalty).sum()
        else:
            loss = -jsd_objective(*scores(x, y)).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        x, y = batches()
    objective = wd_objective if wd else jsd_objective
    with torch.no_grad():
        values = torch.stack([objective(*scores(*batches())) for _ in range(eval_batches)]).mean(0)
    return (values.abs() if wd else values).tolist()


def sweep(
    steps: int, lam: float, lr: float, batch_size: int, seed: int, device=None, thetas=THETAS
) -> list[dict]:
    """One row per theta with the JSD and WD estimates and their true values. Each theta has its own
    samples (numpy stream (seed, i)) and its own critics (initialised from seed + i)."""
    streams = [np.random.default_rng([seed, i]) for i in range(len(thetas))]
    ps = [distribution1(0, batch_size, rng=rng) for rng in streams]
    qs = [distribution1(theta, batch_size, rng=rng) for theta, rng in zip(thetas, streams)]
    seeds = [seed + i for i in range(len(thetas))]
    kw = dict(lam=lam, steps=steps, lr=lr, device=device)
    with progress(total=2, desc="theta sweep (JSD, then WD critics)") as bar:
        jsd = estimate_many(ps, qs, seeds, wd=False, **kw)
        bar.update()
        wd = estimate_many(ps, qs, seeds, wd=True, **kw)
        bar.update()
    return [
        {
            "theta": float(theta),
            "jsd": j,
            "wd": w,
            "jsd_true": 0.0 if theta == 0 else math.log(2),
            "wd_true": abs(float(theta)),
        }
        for theta, j, w in zip(thetas, jsd, wd)
    ]
