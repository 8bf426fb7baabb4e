"""Benchmark: FID pipeline throughput (feature extraction images/s, batched vs one image at a time; seconds for
the distance, eigenvalue form vs scipy.linalg.sqrtm) and training iterations/s of both Problem 3 models.
    python bench/bench_problem3.py"""

import numpy as np
import scipy.linalg
import torch
from timing import best_seconds

from problem1.critics import gradient_penalty
from problem3 import classifier, frechet
from problem3.common import autocast
from problem3.models import Critic, Encoder, Generator, vae_loss
from problem3.recipes import fast_bf16
from utils.runtime import get_device


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
    print(f"features: {len(imgs) / t_batch:8.0f} images/s batched vs {len(imgs) / t_single:8.0f} one at a time; "
          f"ratio {t_single / t_batch:.1f}x")
    f1, f2 = np.random.default_rng(1).normal(size=(2, 3000, 512))
    (m1, s1), (m2, s2) = frechet.feature_statistics(f1), frechet.feature_statistics(f2)
    t_eig = timed(lambda: frechet.frechet_distance(m1, s1, m2, s2))
    t_sqrtm = timed(lambda: scipy.linalg.sqrtm(s1 @ s2))
    print(f"distance (512-d): {t_eig:.3f} s eigenvalue form vs {t_sqrtm:.3f} s scipy sqrtm; "
          f"ratio {t_sqrtm / t_eig:.1f}x")
    g, e, c = Generator().to(device), Encoder().to(device), Critic().to(device)
    x = torch.rand(64, 3, 32, 32, device=device) * 2 - 1
    opt = torch.optim.Adam([*g.parameters(), *e.parameters(), *c.parameters()], 1e-4)

    def vae_step():
        opt.zero_grad()
        vae_loss(e, g, x, 127.5)[0].mean().backward()
        opt.step()

    def gan_step(n_critic=5, precision="fp32"):
        for _ in range(n_critic):
            with torch.no_grad(), autocast(device, precision):
                fake = g(torch.randn(64, 100, device=device)).float()
            opt.zero_grad()
            with autocast(device, precision):
                loss = c(fake).float().mean() - c(x).float().mean() + gradient_penalty(c, x, fake, 10.0)
            loss.backward()
            opt.step()
        opt.zero_grad()
        with autocast(device, precision):
            loss = -c(g(torch.randn(64, 100, device=device))).float().mean()
        loss.backward()
        opt.step()

    vae_step(), gan_step()
    t_fp32 = timed(gan_step, 2)
    print(f"training (batch 64, width 32): VAE {1 / timed(vae_step, 5):.1f} it/s; "
          f"WGAN-GP {1 / t_fp32:.2f} generator it/s in fp32 (5 critic steps each)")
    if fast_bf16(device):
        gan_step(precision="bf16")
        t_bf16 = timed(lambda: gan_step(precision="bf16"), 2)
        print(f"WGAN-GP with bfloat16 autocast (the cpu recipe here): {1 / t_bf16:.2f} generator it/s; "
              f"ratio {t_fp32 / t_bf16:.2f}x vs fp32")
    else:
        print("no native bfloat16 on this device: the recipe trains in fp32")
