"""Problem 1.1-1.2: neural estimators of the Jensen-Shannon divergence and the Wasserstein-1 distance.

``p`` and ``q`` are sampler iterators (see ``samplers.py``) yielding numpy arrays of shape (batch, dim).
Both estimators train a critic (a 3-layer MLP) and return the objective measured on fresh samples.

JSD (nats):  max_D  log 2 + 1/2 E_p[log D(x)] + 1/2 E_q[log(1 - D(y))],   D = sigmoid(logit)
W1:          max_T  E_p[T(x)] - E_q[T(y)] - lambda E_r[(||grad_z T(z)||_2 - 1)^2],
             z = a x + (1 - a) y, a ~ U[0, 1]. (The text writes "+ lambda E||grad T - 1||"; the penalty must
             be subtracted and squared: erratum, see the report.) The returned estimate is the unpenalised
             |E_p[T] - E_q[T]| on fresh samples (the better of T and -T); for a shift by theta it is biased
             upward by about theta^2 / (2 lambda) (0.01 at theta = 1 with the default lambda = 50).
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

from problem1.critics import MLP, StackedMLP, gradient_penalty, jsd_objective, wd_objective
from utils.runtime import get_device


def _batch(its: list[Iterator[np.ndarray]], device: torch.device) -> torch.Tensor:
    """The next batch of every sampler, stacked: (B, N, dim)."""
    xs = [np.asarray(next(it), dtype=np.float32) for it in its]
    if any(x.ndim != 2 for x in xs) or len({x.shape for x in xs}) != 1:
        raise ValueError(f"samplers must yield arrays of one shape (batch, dim), got {sorted({x.shape for x in xs})}")
    return torch.from_numpy(np.stack(xs)).to(device)


def _train_critics(ps, qs, loss_fn, *, steps: int, lr: float, hidden: int, optimizer: str, seeds: list[int],
                   device: torch.device | str | None) -> tuple[StackedMLP, torch.device]:
    """Train one MLP critic per pair (ps[b], qs[b]) -- critic b initialised from seed seeds[b] -- by minimising
    the sum over b of ``loss_fn(critics, x_p, x_q)[b]`` for ``steps`` minibatches, all B critics at once."""
    device = get_device(device)
    if not len(ps) == len(qs) == len(seeds) > 0:
        raise ValueError(f"need as many p samplers, q samplers and seeds: {len(ps)}, {len(qs)}, {len(seeds)}")
    xp, xq = _batch(ps, device), _batch(qs, device)
    if xp.shape[-1] != xq.shape[-1]:
        raise ValueError(f"p and q have different dimensions: {xp.shape[-1]} vs {xq.shape[-1]}")
    mlps = []
    for seed in seeds:
        torch.manual_seed(seed)
        mlps.append(MLP(xp.shape[-1], hidden))
    critics = StackedMLP(mlps).to(device)
    torch.manual_seed(seeds[0])
    opt = {"adam": lambda: torch.optim.Adam(critics.parameters(), lr=lr),
           "sgd": lambda: torch.optim.SGD(critics.parameters(), lr=lr)}[optimizer]()
    for _ in range(steps):
        loss = loss_fn(critics, xp, xq).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        xp, xq = _batch(ps, device), _batch(qs, device)
    return critics.eval(), device


@torch.no_grad()
def _evaluate(critics, ps, qs, objective, device, eval_batches: int) -> list[float]:
    """Mean of ``objective`` over ``eval_batches`` fresh batches, per critic."""
    vals = torch.stack([objective(critics(_batch(ps, device)), critics(_batch(qs, device)))
                        for _ in range(eval_batches)])
    return vals.mean(0).tolist()


def estimate_jsds(ps, qs, *, steps: int = 2000, lr: float = 1e-3, hidden: int = 64, optimizer: str = "adam",
                  eval_batches: int = 100, seeds: list[int], device=None) -> list[float]:
    """D_JS(ps[b] || qs[b]) in nats for every pair, one discriminator each, trained together."""
    critics, device = _train_critics(ps, qs, lambda c, xp, xq: -jsd_objective(c(xp), c(xq)), steps=steps, lr=lr,
                                     hidden=hidden, optimizer=optimizer, seeds=seeds, device=device)
    return _evaluate(critics, ps, qs, jsd_objective, device, eval_batches)


def estimate_wds(ps, qs, *, lam: float = 50.0, steps: int = 2000, lr: float = 1e-3, hidden: int = 64,
                 optimizer: str = "adam", eval_batches: int = 100, seeds: list[int], device=None) -> list[float]:
    """W1(ps[b], qs[b]) for every pair, one WGAN-GP critic each, trained together: |E_p[T] - E_q[T]| on fresh
    samples after training."""
    if lam < 10:
        raise ValueError(f"lambda must be >= 10 (got {lam})")

    def loss(c, xp, xq):
        return -(wd_objective(c(xp), c(xq)) - gradient_penalty(c, xp, xq, lam, sample_dims=2))

    critics, device = _train_critics(ps, qs, loss, steps=steps, lr=lr, hidden=hidden, optimizer=optimizer,
                                     seeds=seeds, device=device)
    # The critic family is closed under T -> -T (negate the last layer): the penalty is unchanged and
    # E_p[T] - E_q[T] changes sign, so the maximum over the family is |E_p[T] - E_q[T]|. This takes the
    # better of T and -T, which also rescues a critic that ended in the wrong-signed local maximum.
    return [abs(v) for v in _evaluate(critics, ps, qs, wd_objective, device, eval_batches)]


def estimate_jsd(p, q, *, steps: int = 2000, lr: float = 1e-3, hidden: int = 64, optimizer: str = "adam",
                 eval_batches: int = 100, seed: int = 0, device=None) -> float:
    """Estimate D_JS(p || q) in nats (between 0 and log 2) with a trained discriminator (Question 1.1)."""
    return estimate_jsds([p], [q], steps=steps, lr=lr, hidden=hidden, optimizer=optimizer,
                         eval_batches=eval_batches, seeds=[seed], device=device)[0]


def estimate_wd(p, q, *, lam: float = 50.0, steps: int = 2000, lr: float = 1e-3, hidden: int = 64,
                optimizer: str = "adam", eval_batches: int = 100, seed: int = 0, device=None) -> float:
    """Estimate W1(p, q) with a WGAN-GP critic: |E_p[T] - E_q[T]| on fresh samples after training
    (Question 1.2)."""
    return estimate_wds([p], [q], lam=lam, steps=steps, lr=lr, hidden=hidden, optimizer=optimizer,
                        eval_batches=eval_batches, seeds=[seed], device=device)[0]
