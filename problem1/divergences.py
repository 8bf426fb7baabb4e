"""Questions 1.1 and 1.2: neural estimators of the Jensen-Shannon divergence and the Wasserstein-1
distance.

``p`` and ``q`` are sampler iterators (``samplers.py``) yielding numpy arrays of shape (batch, dim).
Each estimator trains a critic (a 3-layer MLP, problem1/critics.py) by Adam on the objective below
and returns that objective measured on fresh samples:

JSD (nats):  max_D  log 2 + 1/2 E_p[log D(x)] + 1/2 E_q[log(1 - D(y))],   D = sigmoid(logit)
W1:          max_T  E_p[T(x)] - E_q[T(y)] - lambda E_z[(||grad_z T(z)||_2 - 1)^2],
             z = a x + (1 - a) y, a ~ U[0, 1]. (The text writes "+ lambda E||grad T - 1||"; the
             penalty must be subtracted and squared: erratum, see the report.) The estimate is the
             unpenalised |E_p[T] - E_q[T]| on fresh samples; for a shift by theta it is biased
             upward by about theta^2 / (2 lambda) (0.01 at theta = 1 with the default lambda = 50).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

from problem1.critics import MLP, gradient_penalty, jsd_objective, wd_objective
from utils.cli import get_device


def draw(sampler: Iterator[np.ndarray], device: torch.device) -> torch.Tensor:
    """The sampler's next batch as a float32 tensor (N, dim) on ``device``."""
    x = np.asarray(next(sampler), dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"a sampler must yield arrays of shape (batch, dim), got {x.shape}")
    return torch.from_numpy(x).to(device)


def check_pair(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(f"p and q have different dimensions: {x.shape[-1]} vs {y.shape[-1]}")


def estimate_jsd(
    p,
    q,
    *,
    steps: int = 2000,
    lr: float = 1e-3,
    hidden: int = 64,
    eval_batches: int = 100,
    seed: int = 0,
    device=None,
) -> float:
    """Estimate D_JS(p || q) in nats (between 0 and log 2) with a trained discriminator (Question
    1.1)."""
    device = get_device(device)
    x, y = draw(p, device), draw(q, device)
    check_pair(x, y)
    torch.manual_seed(seed)
    discriminator = MLP(x.shape[1], hidden).to(device)  # logits: D = sigmoid(discriminator(x))
    opt = torch.optim.Adam(discriminator.parameters(), lr=lr)
    for _ in range(steps):
        # ascend the JSD objective: descend its negative
        loss = -jsd_objective(discriminator(x), discriminator(y))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        x, y = draw(p, device), draw(q, device)
    # the estimate: the objective at the trained discriminator, on fresh samples
    with torch.no_grad():
        values = [
            jsd_objective(discriminator(draw(p, device)), discriminator(draw(q, device)))
            for _ in range(eval_batches)
        ]
    return torch.stack(values).mean().item()


def estimate_wd(
    p,
    q,
    *,
    lam: float = 50.0,
    steps: int = 2000,
    lr: float = 1e-3,
    hidden: int = 64,
    eval_batches: int = 100,
    seed: int = 0,
    device=None,
) -> float:
    """Estimate W1(p, q) with a WGAN-GP critic: |E_p[T] - E_q[T]| on fresh samples after training
    (Question 1.2). ``lam``: the gradient penalty's weight, at least 10."""
    if lam < 10:
        raise ValueError(f"lambda must be >= 10 (got {lam})")
    device = get_device(device)
    x, y = draw(p, device), draw(q, device)
    check_pair(x, y)
    torch.manual_seed(seed)
    critic = MLP(x.shape[1], hidden).to(device)  # T, unbounded
    opt = torch.optim.Adam(critic.parameters(), lr=lr)
    for _ in range(steps):
        # ascend E_p[T] - E_q[T] minus the penalty (the erratum's sign and square): descend its
        # negative
        loss = -(wd_objective(critic(x), critic(y)) - gradient_penalty(critic, x, y, lam))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        x, y = draw(p, device), draw(q, device)
    # The critic family is closed under T -> -T (negate the last layer), which keeps the penalty and
    # flips the sign of E_p[T] - E_q[T]: the maximum over the family is its absolute value.
    with torch.no_grad():
        values = [
            wd_objective(critic(draw(p, device)), critic(draw(q, device)))
            for _ in range(eval_batches)
        ]
    return abs(torch.stack(values).mean().item())
