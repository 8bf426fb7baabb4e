"""Problem 1.1-1.2: neural estimators of the Jensen-Shannon divergence and the Wasserstein-1 distance.

``p`` and ``q`` are sampler iterators (see ``samplers.py``) yielding numpy arrays of shape (batch, dim).
Both estimators train a critic (a 3-layer MLP) and return the objective measured on fresh samples.

JSD (nats):  max_D  log 2 + 1/2 E_p[log D(x)] + 1/2 E_q[log(1 - D(y))],   D = sigmoid(logit)
W1:          max_T  E_p[T(x)] - E_q[T(y)] - lambda E_r[(||grad_z T(z)||_2 - 1)^2],
             z = a x + (1 - a) y, a ~ U[0, 1]. (The text writes "+ lambda E||grad T - 1||"; the penalty must
             be subtracted and squared: erratum, see the report.) The returned estimate is the unpenalised
             E_p[T] - E_q[T] on fresh samples; for a shift by theta it is biased upward by about
             theta^2 / (2 lambda) (0.01 at theta = 1 with the default lambda = 50).
"""
from __future__ import annotations

import math
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from utils import get_device

LOG2 = math.log(2.0)


class MLP(nn.Module):
    """3-layer MLP critic (LeakyReLU, so no unit dies and leaves T constant): (N, in_dim) -> (N,) unbounded
    scores (logits for the JSD discriminator)."""

    def __init__(self, in_dim: int, hidden: int = 64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


def jsd_objective(logits_p: torch.Tensor, logits_q: torch.Tensor) -> torch.Tensor:
    """log 2 + 1/2 mean log D(x_p) + 1/2 mean log(1 - D(x_q)), D = sigmoid(logits), in nats.

    Computed stably: log D = logsigmoid(l) and log(1 - D) = logsigmoid(-l)."""
    return LOG2 + 0.5 * F.logsigmoid(logits_p).mean() + 0.5 * F.logsigmoid(-logits_q).mean()


def wd_objective(t_p: torch.Tensor, t_q: torch.Tensor) -> torch.Tensor:
    """E_p[T] - E_q[T] from critic values of shape (N,)."""
    return t_p.mean() - t_q.mean()


def gradient_penalty(critic: nn.Module, x: torch.Tensor, y: torch.Tensor, lam: float) -> torch.Tensor:
    """lambda * E_z[(||grad_z T(z)||_2 - 1)^2] on random interpolates z = a x + (1 - a) y.

    x, y: (N, ...) tensors of equal shape (any N, images included). The norm is per sample over all of
    its flattened dimensions; create_graph=True so the penalty is differentiable w.r.t. the critic."""
    if x.shape != y.shape:
        raise ValueError(f"gradient_penalty: x {tuple(x.shape)} and y {tuple(y.shape)} differ")
    a = torch.rand((x.shape[0],) + (1,) * (x.dim() - 1), device=x.device, dtype=x.dtype)
    z = (a * x + (1 - a) * y).detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(z).sum(), z, create_graph=True)
    return lam * ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def _batch(it: Iterator[np.ndarray], device: torch.device) -> torch.Tensor:
    x = np.asarray(next(it), dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"a sampler must yield arrays of shape (batch, dim), got {x.shape}")
    return torch.from_numpy(x).to(device)


def _train_critic(p, q, loss_fn, *, steps: int, lr: float, hidden: int, optimizer: str, seed: int,
                  device: torch.device | str | None) -> tuple[nn.Module, torch.device]:
    """Train an MLP critic by minimising ``loss_fn(critic, x_p, x_q)`` for ``steps`` minibatches."""
    device = get_device(device)
    torch.manual_seed(seed)
    xp, xq = _batch(p, device), _batch(q, device)
    if xp.shape[1] != xq.shape[1]:
        raise ValueError(f"p and q have different dimensions: {xp.shape[1]} vs {xq.shape[1]}")
    critic = MLP(xp.shape[1], hidden).to(device)
    opt = {"adam": lambda: torch.optim.Adam(critic.parameters(), lr=lr),
           "sgd": lambda: torch.optim.SGD(critic.parameters(), lr=lr)}[optimizer]()
    for _ in range(steps):
        loss = loss_fn(critic, xp, xq)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        xp, xq = _batch(p, device), _batch(q, device)
    critic.eval()
    return critic, device


@torch.no_grad()
def _evaluate(critic, p, q, objective, device, eval_batches: int) -> float:
    vals = [objective(critic(_batch(p, device)), critic(_batch(q, device))).item() for _ in range(eval_batches)]
    return float(np.mean(vals))


def estimate_jsd(p, q, *, steps: int = 2000, lr: float = 1e-3, hidden: int = 64, optimizer: str = "adam",
                 eval_batches: int = 20, seed: int = 0, device=None) -> float:
    """Estimate D_JS(p || q) in nats (between 0 and log 2) with a trained discriminator."""
    critic, device = _train_critic(p, q, lambda c, xp, xq: -jsd_objective(c(xp), c(xq)), steps=steps, lr=lr,
                                   hidden=hidden, optimizer=optimizer, seed=seed, device=device)
    return _evaluate(critic, p, q, jsd_objective, device, eval_batches)


def estimate_wd(p, q, *, lam: float = 50.0, steps: int = 2000, lr: float = 1e-3, hidden: int = 64,
                optimizer: str = "adam", eval_batches: int = 20, seed: int = 0, device=None) -> float:
    """Estimate W1(p, q) with a WGAN-GP critic: E_p[T] - E_q[T] on fresh samples after training."""
    if lam < 10:
        raise ValueError(f"lambda must be >= 10 (got {lam})")

    def loss(c, xp, xq):
        return -(wd_objective(c(xp), c(xq)) - gradient_penalty(c, xp, xq, lam))

    critic, device = _train_critic(p, q, loss, steps=steps, lr=lr, hidden=hidden, optimizer=optimizer,
                                   seed=seed, device=device)
    return _evaluate(critic, p, q, wd_objective, device, eval_batches)
