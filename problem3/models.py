"""Problem 3 models: one generator g(z) (latent 100 -> 3x32x32 in [-1, 1]) shared by the VAE and the
GAN, a convolutional encoder (mean and softplus standard deviation) and a WGAN-GP critic (no batch
norm)."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from utils.cli import UserError
from utils.training import load_checkpoint, require_finished

LATENT = 100
MODELS = ("vae", "gan")


def run_dir(root: Path, model: str, seed: int, name: str | None = None) -> Path:
    """<results>/problem3/<model>/seed<seed>/ (or <model>/<name>/): one training run's checkpoint,
    log and summary (``root``: the <results>/problem3 directory)."""
    return Path(root) / model / (name or f"seed{seed}")


def checkpoint_path(root: Path, model: str, seed: int) -> Path:
    return run_dir(root, model, seed) / f"{model}.pt"


class Generator(nn.Module):
    """g(z): (N, 100) -> (N, 3, 32, 32) in [-1, 1] (DCGAN-style transposed convolutions, 4 -> 8 ->
    16 -> 32)."""

    def __init__(self, latent_dim: int = LATENT, width: int = 32):
        super().__init__()
        self.latent_dim, w = latent_dim, width
        self.fc = nn.Sequential(
            nn.Linear(latent_dim, 4 * w * 16), nn.BatchNorm1d(4 * w * 16), nn.ReLU()
        )
        self.net = nn.Sequential(
            nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1),
            nn.BatchNorm2d(2 * w),
            nn.ReLU(),
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1),
            nn.BatchNorm2d(w),
            nn.ReLU(),
            nn.ConvTranspose2d(w, 3, 4, 2, 1),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.fc(z).view(z.shape[0], -1, 4, 4))


def conv_features(width: int, batch_norm: bool = False) -> nn.Sequential:
    """(N, 3, 32, 32) -> (N, 4 * width * 16): three stride-2 convolutions with LeakyReLU, each
    followed by batch norm if ``batch_norm`` (the encoder's; never the critic's, whose gradient
    penalty is per image)."""
    layers, channels = [], [3, width, 2 * width, 4 * width]
    for c_in, c_out in zip(channels, channels[1:]):
        layers += [
            nn.Conv2d(c_in, c_out, 4, 2, 1),
            *([nn.BatchNorm2d(c_out)] if batch_norm else []),
            nn.LeakyReLU(0.2),
        ]
    return nn.Sequential(*layers, nn.Flatten())


class Encoder(nn.Module):
    """q(z|x): (N, 3, 32, 32) -> (mu, sigma), each (N, 100); sigma = softplus(.) + 1e-4 > 0. Batch
    norm after each convolution: a lower FID of the prior samples on the small training set
    (docs/problem3_recipes.md)."""

    def __init__(self, latent_dim: int = LATENT, width: int = 32):
        super().__init__()
        self.features = conv_features(width, batch_norm=True)
        self.head = nn.Linear(4 * width * 16, 2 * latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, s = self.head(self.features(x)).chunk(2, dim=1)
        return mu, F.softplus(s) + 1e-4


class Critic(nn.Module):
    """T(x): (N, 3, 32, 32) -> (N,) unbounded scores."""

    def __init__(self, width: int = 32):
        super().__init__()
        self.features = conv_features(width)
        self.head = nn.Linear(4 * width * 16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)


def vae_loss(
    encoder: Encoder,
    generator: Generator,
    x: torch.Tensor,
    pixel_scale: float,
    noise: torch.Tensor | None = None,
):
    """Per-image negative ELBO, in nats, with p(x|z) = N(x; g(z), I) on images whose pixel values
    run from 0 to 2 * pixel_scale (127.5: the stored 0-255; 1: the networks' own [-1, 1] shifted).
    The networks work in [-1, 1] (``x`` here, and g's tanh output), so the image and the mean are
    pixel_scale * (x + 1) and pixel_scale * (g(z) + 1), D = 3072:

        -log p(x|z) = 0.5 pixel_scale^2 ||x - g(z)||^2 + (D / 2) log 2 pi
        KL(N(mu, sigma^2) || N(0, I)) in closed form

    The unit variance is one pixel level, so the scale sets how much a reconstruction error weighs
    against the KL. ``noise`` (N, 100): the standard normal draw of z = mu + sigma * noise (default:
    fresh). Returns (neg_elbo, reconstruction, kl), each (N,)."""
    # the sums below in float32 even under bfloat16 autocast
    mu, sigma = (t.float() for t in encoder(x))
    z = mu + sigma * (torch.randn_like(sigma) if noise is None else noise)
    d = x[0].numel()
    error = pixel_scale * (x - generator(z).float())  # in pixel levels
    rec = 0.5 * error.pow(2).flatten(1).sum(1) + 0.5 * d * math.log(2 * math.pi)
    kl = 0.5 * (mu.pow(2) + sigma.pow(2) - 1 - 2 * sigma.log()).sum(1)
    return rec + kl, rec, kl


@torch.no_grad()
def ema_update(average: nn.Module, model: nn.Module, decay: float, step: int) -> None:
    """average <- d * average + (1 - d) * model, parameter by parameter (buffers untouched), after
    update ``step`` (0-based), with the warm-up d = min(decay, (1 + step) / (10 + step)) so that
    early averages do not hold on to the random initial weights."""
    d = min(decay, (1 + step) / (10 + step))
    # one kernel, not one each
    torch._foreach_lerp_(list(average.parameters()), list(model.parameters()), 1.0 - d)


@torch.no_grad()
def recalibrate_batchnorm(
    g: Generator, batches: int = 8, batch_size: int = 256, seed: int = 0
) -> Generator:
    """Re-estimate g's batch-norm statistics as exact averages over ``batches`` batches of z ~ N(0,
    I). Needed for averaged (EMA) weights, whose activations differ from those the running
    statistics saw."""
    device = next(g.parameters()).device
    norms = [m for m in g.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    gen = torch.Generator().manual_seed(seed)
    g.train()
    for _ in range(batches):
        g(torch.randn(batch_size, g.latent_dim, generator=gen).to(device))
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    return g.eval()


def sampling_generator(g: Generator, seed: int = 0) -> Generator:
    """A copy of g for sampling from the prior, in eval mode, with its batch-norm statistics
    estimated on z ~ N(0, I), the codes it is used on. (A VAE's decoder is trained on posterior
    codes, whose statistics differ; an EMA generator's averaged weights never produced the running
    statistics.) g is untouched."""
    return recalibrate_batchnorm(copy.deepcopy(g), seed=seed)


def load_generator(
    path: Path, device, kind: str, allow_unfinished: bool = False
) -> tuple[Generator, dict]:
    """The sampling generator of a finished Problem 3 training checkpoint of ``kind`` ('vae' or
    'gan'), in eval mode: the weight average (``generator_ema``) when the run kept one, else the
    trained generator, with its batch-norm statistics re-estimated on the prior (as
    :func:`sampling_generator`; the freshly loaded module needs no copy). Also what it is:
    {checkpoint, step, settings}."""
    state = load_checkpoint(path, device)
    meta = state.get("meta", {})
    if meta.get("model", kind) != kind:
        raise UserError(f"{path} holds a {meta['model']} training, not a {kind} one")
    step = require_finished(state, path, allow_unfinished)
    g = Generator(width=meta.get("width", 32)).to(device)
    modules = state.get("modules", {})
    try:
        g.load_state_dict(
            modules["generator_ema"] if "generator_ema" in modules else modules["generator"]
        )
    except (KeyError, RuntimeError) as e:
        raise UserError(
            f"{path} holds no generator of this architecture ({type(e).__name__})"
        ) from None
    return recalibrate_batchnorm(g), {
        "checkpoint": str(path),
        "step": step,
        "settings": state.get("settings"),
    }
