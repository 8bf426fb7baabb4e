"""The VAE prescribed by the assignment for binarized MNIST (latent size 100, Bernoulli decoder)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

LATENT = 100


class VAE(nn.Module):
    """encode: (N, 1, 28, 28) -> (mu, logvar), each (N, 100); decode: (N, 100) -> logits (N, 1, 28,
    28).

    The layers are the assignment's, in its order. Scripts that want speed call
    ``problem2.layers.fast_layers(VAE())``, which swaps in kernels computing the same functions."""

    input_shape = (1, 28, 28)

    def __init__(self, latent_dim: int = LATENT):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 32, kernel_size=3),
            nn.ELU(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Conv2d(32, 64, kernel_size=3),
            nn.ELU(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Conv2d(64, 256, kernel_size=5),
            nn.ELU(),
            nn.Flatten(),
            nn.Linear(256, 2 * latent_dim),  # the mean and the log-variance of q(z | x)
        )
        self.decoder_fc = nn.Sequential(nn.Linear(latent_dim, 256), nn.ELU())
        self.decoder = nn.Sequential(  # input: the 256 features as a (256, 1, 1) map
            nn.Conv2d(256, 64, kernel_size=5, padding=4),
            nn.ELU(),
            nn.UpsamplingBilinear2d(scale_factor=2),
            nn.Conv2d(64, 32, kernel_size=3, padding=2),
            nn.ELU(),
            nn.UpsamplingBilinear2d(scale_factor=2),
            nn.Conv2d(32, 16, kernel_size=3, padding=2),
            nn.ELU(),
            nn.Conv2d(16, 1, kernel_size=3, padding=2),  # Bernoulli logits
        )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.decoder_fc(z).view(-1, 256, 1, 1))

    def log_px_given_z(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x | z) in nats, summed over pixels. x: (N, 784) in {0, 1}; z: (N, L) -> (N,)."""
        return -F.binary_cross_entropy_with_logits(
            self.decode(z).flatten(1), x, reduction="none"
        ).sum(1)

    def forward(self, x: torch.Tensor):
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        return self.decode(z), mu, logvar


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)) per sample, summed over latent dims: (N, L) ->
    (N,)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)


def negative_elbo(model: VAE, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-image (N,) negative ELBO = BCE reconstruction (summed over pixels) + KL, with one z
    sample. Returns (neg_elbo, reconstruction, kl), all in nats per image."""
    logits, mu, logvar = model(x)
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    kl = gaussian_kl(mu, logvar)
    return rec + kl, rec, kl
