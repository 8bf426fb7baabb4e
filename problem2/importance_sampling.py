"""Problem 2, Question 2.1: importance-sampling estimate of log p(x) for a VAE.

    log p(x_i) ~= log (1/K) sum_k p(x_i | z_ik) p(z_ik) / q(z_ik | x_i),   z_ik ~ q(z | x_i)
               =  logsumexp_k [log p(x_i | z_ik) + log p(z_ik) - log q(z_ik | x_i)] - log K

The model provides ``encode(x) -> (mu, logvar)`` of q(z|x) = N(mu, diag exp(logvar)), an
``input_shape``, a ``latent_dim`` and ``log_px_given_z(x, z)`` (the decoder's log-likelihood, summed
over the D dims).
"""

from __future__ import annotations

import math

import torch

LOG_2PI = math.log(2 * math.pi)


def log_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag exp(logvar)) summed over the last dim, in nats."""
    return -0.5 * ((z - mu).pow(2) * torch.exp(-logvar) + logvar + LOG_2PI).sum(-1)


def log_weight_terms(model, x: torch.Tensor, z: torch.Tensor, chunk: int | None = None):
    """(log p(x|z), log p(z), log q(z|x)), each (M, K) in nats, for x (M, D) and z (M, K, L); see
    :func:`importance_sampling_log_likelihood`. The decoder runs on the M * K samples in chunks of
    ``chunk`` (default: 256 on the CPU, where activations that stay in cache beat larger batches,
    see bench/bench_importance_sampling.py; 16384 on a GPU)."""
    if x.dim() != 2:
        raise ValueError(f"x must have shape (M, D), got {tuple(x.shape)}")
    if z.dim() != 3:
        raise ValueError(f"z must have shape (M, K, L), got {tuple(z.shape)}")
    (m, d), (mz, k, latent) = x.shape, z.shape
    if mz != m:
        raise ValueError(f"x has M = {m} rows but z has M = {mz}")
    if d != math.prod(model.input_shape):
        raise ValueError(f"x has D = {d} but the model takes {math.prod(model.input_shape)} inputs")
    if latent != model.latent_dim:
        raise ValueError(
            f"z has L = {latent} but the model's latent dimension is {model.latent_dim}"
        )
    mu, logvar = model.encode(x.reshape(m, *model.input_shape))
    log_q = log_normal(z, mu.unsqueeze(1), logvar.unsqueeze(1))  # (M, K)
    log_prior = -0.5 * (z.pow(2) + LOG_2PI).sum(-1)  # (M, K)
    chunk = chunk or (256 if x.device.type == "cpu" else 16384)
    z_flat = z.reshape(m * k, latent)
    # x is gathered chunk by chunk: an (M * K, D) copy would take 6 GB for 10,000 images at K = 200
    image_of = torch.arange(m * k, device=x.device) // k  # the row of x of each sample
    log_lik = torch.cat(
        [
            model.log_px_given_z(x[image_of[i : i + chunk]], z_flat[i : i + chunk])
            for i in range(0, m * k, chunk)
        ]
    ).view(m, k)  # (M, K)
    return log_lik, log_prior, log_q


@torch.no_grad()
def importance_sampling_log_likelihood(model, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Estimate log p(x_i) for each of the M images.

    model: the VAE (see module docstring). x: (M, D) tensor of inputs (D = 784 for MNIST, values in
    {0, 1}). z: (M, K, L) samples z_ik ~ q(z | x_i) from this model's encoder. Returns (M,)
    estimates in nats. An evaluation: no gradients are recorded, and the decoder runs on the M * K
    samples in chunks.
    """
    return log_mean_weight(*log_weight_terms(model, x, z))


def log_mean_weight(
    log_lik: torch.Tensor, log_prior: torch.Tensor, log_q: torch.Tensor
) -> torch.Tensor:
    """log (1/K) sum_k exp(log_w_k) with log_w = log p(x|z) + log p(z) - log q(z|x): (M, K) -> (M,).
    logsumexp subtracts the largest log-weight first, so nothing underflows even at log_w ~
    -10,000."""
    log_w = log_lik + log_prior - log_q
    return torch.logsumexp(log_w, dim=1) - math.log(log_w.shape[1])


def sample_posterior(
    model, x: torch.Tensor, k: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """z_ik ~ q(z | x_i): (M, D) -> (M, K, L), drawn from the same encoder the estimator uses."""
    mu, logvar = model.encode(x.view(x.shape[0], *model.input_shape))
    eps = torch.randn(
        mu.shape[0], k, mu.shape[1], generator=generator, device=mu.device, dtype=mu.dtype
    )
    return mu.unsqueeze(1) + eps * (0.5 * logvar).exp().unsqueeze(1)
