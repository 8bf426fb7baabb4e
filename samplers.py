"""The course's four samplers (same names and call signatures), vectorized, plus the exact density
of distribution4.

Each sampler is an infinite generator of numpy float arrays of shape (batch_size, dim). They draw
from numpy's global RNG like the course's file; pass ``rng=np.random.default_rng(seed)`` for a
private stream.
"""

from __future__ import annotations

import numpy as np


def _rng(rng):
    return np.random if rng is None else rng


def distribution1(x, batch_size=512, *, rng=None):
    """Pairs (x, u), u ~ U[0, 1]: items of shape (batch_size, 2). Problem 1.3 uses x = 0 and x =
    theta."""
    r = _rng(rng)
    while True:
        yield np.column_stack([np.full(batch_size, float(x)), r.uniform(0, 1, batch_size)])


def distribution2(batch_size=512, *, rng=None):
    """Uniform on [0, 1]^2: items of shape (batch_size, 2)."""
    r = _rng(rng)
    while True:
        yield r.uniform(0, 1, (batch_size, 2))


def distribution3(batch_size=512, *, rng=None):
    """Standard normal in 1-D (the density f0 of Problem 1.4): items of shape (batch_size, 1)."""
    r = _rng(rng)
    while True:
        yield r.normal(0, 1, (batch_size, 1))


def f4(x):
    """The map of distribution4: f(x) = tanh(2x + 1) + 0.75 x (strictly increasing, f' >= 0.75)."""
    return np.tanh(2 * x + 1) + 0.75 * x


def f4_prime(x):
    """f'(x) = 2 (1 - tanh(2x + 1)^2) + 0.75."""
    return 2 * (1 - np.tanh(2 * x + 1) ** 2) + 0.75


def distribution4(batch_size=1, *, rng=None):
    """f(X), X ~ N(0, 1) (the unknown density f1 of Problem 1.4): items of shape (batch_size, 1)."""
    r = _rng(rng)
    while True:
        yield f4(r.normal(0, 1, (batch_size, 1)))


def f4_inverse(y, iters=60):
    """Solve f(x) = y elementwise by bisection (f is strictly increasing; |f(x) - 0.75 x| <= 1)."""
    y = np.asarray(y, dtype=np.float64)
    lo, hi = (y - 1) / 0.75, (y + 1) / 0.75
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        below = f4(mid) < y
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def density4(y):
    """Exact density of distribution4 at y, by change of variables: N(x; 0, 1) / f'(x) with x =
    f^-1(y)."""
    x = f4_inverse(y)
    return np.exp(-0.5 * x**2) / np.sqrt(2 * np.pi) / f4_prime(x)
