"""The VAE prescribed by the assignment for binarized MNIST (latent size 100, Bernoulli decoder)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from problem2.layers import ConvOn1x1, ConvOverWholeInput, ConvToOneChannel, ExpELU, MatmulUpsamplingBilinear2d

LATENT = 100


class VAE(nn.Module):
    """encode: (N, 1, 28, 28) -> (mu, logvar), each (N, 100); decode: (N, 100) -> Bernoulli logits (N, 1, 28, 28).

    The layers are the assignment's: ExpELU is nn.ELU, ConvOn1x1, ConvOverWholeInput and ConvToOneChannel are
    nn.Conv2d, MatmulUpsamplingBilinear2d is nn.UpsamplingBilinear2d, computed faster (same parameters and
    state-dict keys; problem2/layers.py)."""

    input_shape = (1, 28, 28)

    def __init__(self, latent_dim: int = LATENT):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 32, 3), ExpELU(), nn.AvgPool2d(2, 2),
            nn.Conv2d(32, 64, 3), ExpELU(), nn.AvgPool2d(2, 2),
            ConvOverWholeInput(64, 256, 5), ExpELU(), nn.Flatten(),
            nn.Linear(256, 2 * latent_dim))  # mean and log-variance
        self.decoder_fc = nn.Sequential(nn.Linear(latent_dim, 256), ExpELU())
        self.decoder = nn.Sequential(
            ConvOn1x1(256, 64, 5, padding=4), ExpELU(), MatmulUpsamplingBilinear2d(scale_factor=2),
            nn.Conv2d(64, 32, 3, padding=2), ExpELU(), MatmulUpsamplingBilinear2d(scale_factor=2),
            nn.Conv2d(32, 16, 3, padding=2), ExpELU(),
            ConvToOneChannel(16, 1, 3, padding=2))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.decoder_fc(z).view(-1, 256, 1, 1))

    def log_px_given_z(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x | z) in nats, summed over pixels. x: (N, 784) in {0, 1}; z: (N, L) -> (N,)."""
        return -F.binary_cross_entropy_with_logits(self.decode(z).flatten(1), x, reduction="none").sum(1)

    def forward(self, x: torch.Tensor):
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        return self.decode(z), mu, logvar


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)) per sample, summed over latent dims: (N, L) -> (N,)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)


def negative_elbo(model: VAE, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-image (N,) negative ELBO = BCE reconstruction (summed over pixels) + KL, with one z sample.
    Returns (neg_elbo, reconstruction, kl), all in nats per image."""
    logits, mu, logvar = model(x)
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    kl = gaussian_kl(mu, logvar)
    return rec + kl, rec, kl
