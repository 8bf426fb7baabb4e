"""Benchmark: FID pipeline throughput (feature extraction images/s, batched vs one image at a time;
seconds for the distance, eigenvalue form vs scipy.linalg.sqrtm) and training iterations/s of both
Problem 3 models, with the FLOP of one iteration (matrix products and convolutions) and the rate
they run at, a measure of how close a step is to what the processor can do.
    python bench/bench_problem3.py"""

import numpy as np
import scipy.linalg
import torch
from flops import count_flops
from timing import best_seconds

from problem1.critics import gradient_penalty
from problem3 import classifier, frechet
from problem3.common import autocast, fast_layout
from problem3.models import Critic, Encoder, Generator, vae_loss
from utils.cli import get_device
from utils.runtime import fast_bf16


def timed(fn, repeats=1):
    """Fastest of ``repeats`` calls, in seconds."""
    return best_seconds(fn, repeats)[1]


if __name__ == "__main__":
    device = get_device()
    print(f"device: {device}")
    torch.manual_seed(0)
    clf = classifier.Classifier().to(device).eval()
    imgs = np.random.default_rng(0).integers(0, 256, (2000, 32, 32, 3), dtype=np.uint8)
    t_batch = timed(lambda: list(frechet.extract_features(clf, imgs)))
    t_single = timed(lambda: list(frechet.extract_features(clf, imgs[:200], batch_size=1))) * 10
    print(
        f"features: {len(imgs) / t_batch:8.0f} images/s batched vs {len(imgs) / t_single:8.0f} one "
        "at a time; "
        f"ratio {t_single / t_batch:.1f}x"
    )
    f1, f2 = np.random.default_rng(1).normal(size=(2, 3000, 512))
    (m1, s1), (m2, s2) = frechet.feature_statistics(f1), frechet.feature_statistics(f2)
    t_eig = timed(lambda: frechet.frechet_distance(m1, s1, m2, s2))
    t_sqrtm = timed(lambda: scipy.linalg.sqrtm(s1 @ s2))
    print(
        f"distance (512-d): {t_eig:.3f} s eigenvalue form vs {t_sqrtm:.3f} s scipy sqrtm; "
        f"ratio {t_sqrtm / t_eig:.1f}x"
    )
    x = torch.rand(64, 3, 32, 32, device=device) * 2 - 1
    # fast_layout changes only CPU models
    layouts = (False, True) if device.type == "cpu" else (False,)
    variants = [(p, cl) for p in ("fp32", "bf16")[: 1 + fast_bf16(device)] for cl in layouts]

    def models(channels_last):
        g, e, c = Generator(), Encoder(), Critic()
        if not channels_last:
            return g.to(device), e.to(device), c.to(device)
        return fast_layout(g, device), fast_layout(e, device), fast_layout(c, device)

    def vae_step(g, e, opt, precision):
        with autocast(device, precision):
            loss = vae_loss(e, g, x, 4.0)[0].mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    def gan_step(g, c, opt, precision, batch=32, n_critic=5):
        real = x[:batch]
        for _ in range(n_critic):
            with torch.no_grad(), autocast(device, precision):
                fake = g(torch.randn(batch, 100, device=device)).float()
            with autocast(device, precision):
                loss = (
                    c(fake).float().mean()
                    - c(real).float().mean()
                    + gradient_penalty(c, real, fake, 10.0)
                )
            opt.zero_grad()
            loss.backward()
            opt.step()
        with autocast(device, precision):
            loss = -c(g(torch.randn(batch, 100, device=device))).float().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    print(
        "training steps (width 32; VAE batch 64, WGAN-GP batch 32 with 5 critic steps), against "
        "the naive "
        "float32 step in the standard (NCHW) layout:"
    )
    naive, gflop = {}, {}
    for precision, channels_last in variants:
        g, e, c = models(channels_last)
        opt = torch.optim.Adam([*g.parameters(), *e.parameters(), *c.parameters()], 1e-4)
        times = {}
        for name, step, repeats in (
            ("VAE", lambda: vae_step(g, e, opt, precision), 20),
            ("WGAN-GP", lambda: gan_step(g, c, opt, precision), 5),
        ):
            gflop.setdefault(name, count_flops(step) / 1e9)  # also the warm-up call
            times[name] = timed(lambda: [step() for _ in range(repeats)], 3) / repeats
            naive.setdefault(name, times[name])
        layout = "channels-last" if channels_last else "NCHW"
        print(
            f"  {precision} {layout:13s}: "
            + ", ".join(
                f"{name} {1 / t:6.2f} it/s ({naive[name] / t:.2f}x, {gflop[name] / t:4.0f} GFLOP/s)"
                for name, t in times.items()
            )
        )
    print("FLOP per iteration: " + ", ".join(f"{name} {g:.2f} GFLOP" for name, g in gflop.items()))
    if not fast_bf16(device):
        print("no native bfloat16 on this device: the recipes train in fp32")
