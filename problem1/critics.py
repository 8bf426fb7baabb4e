"""Critics shared by Problems 1 and 3: the MLP critic, the JSD and Wasserstein objectives,
and the gradient penalty lambda E[(||grad T|| - 1)^2] (subtracted from the critic objective; erratum
of the text, see the report).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LOG2 = math.log(2.0)


class MLP(nn.Module):
    """3-layer MLP critic (LeakyReLU, so no unit dies and leaves T constant): (N, in_dim) -> (N,)
    unbounded scores (logits for the JSD discriminator)."""

    def __init__(self, in_dim: int, hidden: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


def jsd_objective(logits_p: torch.Tensor, logits_q: torch.Tensor) -> torch.Tensor:
    """log 2 + 1/2 mean log D(x_p) + 1/2 mean log(1 - D(x_q)), D = sigmoid(logits), in nats; the
    means run over the last dim, so logits of shape (N,) give a scalar and (B, N) one value per
    critic.

    Computed stably: log D = logsigmoid(l) and log(1 - D) = logsigmoid(-l)."""
    return LOG2 + 0.5 * F.logsigmoid(logits_p).mean(-1) + 0.5 * F.logsigmoid(-logits_q).mean(-1)


def wd_objective(t_p: torch.Tensor, t_q: torch.Tensor) -> torch.Tensor:
    """E_p[T] - E_q[T] from critic values of shape (N,) (a scalar) or (B, N) (one value per
    critic)."""
    return t_p.mean(-1) - t_q.mean(-1)


def gradient_penalty(
    critic: nn.Module, x: torch.Tensor, y: torch.Tensor, lam: float, sample_dims: int = 1
) -> torch.Tensor:
    """lambda * E_z[(||grad_z T(z)||_2 - 1)^2] on random interpolates z = a x + (1 - a) y.

    x, y: tensors of equal shape whose first ``sample_dims`` dims index samples: (N, ...) (images
    included) gives a scalar, (B, N, ...) with sample_dims=2 (B stacked critics) one penalty per
    critic, shape (B,). The norm is per sample over all its other dims; create_graph=True so the
    penalty is differentiable w.r.t. the critic."""
    if x.shape != y.shape:
        raise ValueError(f"gradient_penalty: x {tuple(x.shape)} and y {tuple(y.shape)} differ")
    a = torch.rand(
        x.shape[:sample_dims] + (1,) * (x.dim() - sample_dims), device=x.device, dtype=x.dtype
    )
    z = (a * x + (1 - a) * y).detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(z).sum(), z, create_graph=True)
    return lam * ((grad.flatten(sample_dims).norm(dim=-1) - 1) ** 2).mean(-1)
