"""Problem 3 training recipes: the settings each hardware profile uses.

A script's ``--profile`` picks one (``auto``: ``gpu`` when the device is CUDA, else ``cpu``); on the small
offline training set (svhn-partial) the VAE uses :data:`SMALL_SET` in every profile; ``--quick`` shrinks the
run; a flag given explicitly always wins over all of these.

* ``cpu``: all of Problem 3 (both trainings, per-checkpoint FIDs, figures, final FIDs) in about 20 minutes
  on a 2-core CPU.
* ``gpu``: a wider GAN and more iterations: all of Problem 3 in 7.8 minutes on one H100 GPU (2026-11-26).

How the cpu recipe was chosen (FID of 1,000 samples against the first 10,000 SVHN test images, 1,200 training
images of svhn_partial.npz, width 32, n_critic 5, one thread, equal wall time of 6-9 minutes):
* GAN learning rate (Adam, betas (0.5, 0.9), batch 32): 2e-4 reached 57,000 after 1,455 iterations, 5e-4 45,000
  after 1,064, 1e-3 33,000 after 1,737; fewer critic steps (1-3) or batch 64 learned more slowly per minute.
* bfloat16 autocast (float32 weights): 1.8x the iterations per minute at one thread and batch 32, at the same
  FID per iteration (bench/bench_problem3.py, two threads and batch 64: about 1.2x).
* Differentiable augmentation (translation, or translation + colour + cutout) slowed learning in these short
  runs (219,000 vs 102,000 after 400 iterations), so the cpu recipe goes without; it is meant for long runs on a
  small training set, where the critic memorises (the gpu recipe keeps translation; see the critic gap).
* Sampling from a weight average with batch-norm statistics re-estimated on the prior: 5-10% lower FID.
* VAE, likelihood N(x; g(z), I) on pixel values 0-255: 38,400 after 3,000 iterations, and flat from 1,000 on
  (39,500) whatever the KL weight. The same likelihood on images scaled to [-1, 1] (noise of half the pixel
  range; what this recipe was first tuned with) had the decoder blur: 49,641 at the end, lowest (39,000-40,000)
  while the KL weight was below 1; a likelihood on [-4, 4] gave 35,000 (not used: an arbitrary scale).
  With [-1, 1]: Adam 2e-3 learned faster than 1e-3 (83,000 vs 99,000 after 2,000 iterations); batch-norm
  statistics re-estimated on the prior for sampling: 79,000 -> 66,000; KL annealing over the first 2,000
  iterations helped, and longer runs, a weight average, a decaying learning rate or width 48 did not.
How the gpu recipe was chosen (one NVIDIA H100 80GB, torch 2.11, 2026-11-26, bench/gpu_problem3.sh,
bench/gpu_gan_speed.sh and bench/gpu_throughput.sh; same FID measure, svhn_partial.npz):
* Speed: the GAN step is bound by kernel launches, not by the GPU. Width 64, batch 64: 23.6 iterations/s, 28.7
  after real and fake images went through one augmentation and critic pass and Adam and the weight average
  became one kernel each (1.22x, same run); batch 128: 27.7. VAE (width 64): 160 iterations/s.
* GAN iterations: 15,000 at first (10.5 minutes then); the FID falls slowly after 6,000, so 8,000 keep all of
  Problem 3 inside a 10-minute command. The complete recipe: FID 12,089 (monitor: 13,490 at 6,000, 13,015 at
  8,000). Variants at 6,500 iterations, same run: batch 128 11,815 (recipe 13,353; the next recipe to run
  complete); without translation augmentation 18,099, the critic's train/held-out gap 7.0 (recipe 0.6); in an
  earlier run batch 32 with Adam 1e-3 16,518 and translation + colour + cutout 22,297 at 7,000.
* VAE on the 1,200 images: width 64 with the pixel-scale likelihood 38,929 after 3,000 iterations (width 32:
  37,619); with the earlier likelihood on [-1, 1], width 64 went from 37,800 at 2,000 iterations to 83,600 at
  30,000. Wider and longer did not help on this set, so there the VAE keeps the cpu settings; the gpu VAE
  settings are for the official training set (73,257 images: 40,000 iterations are 39 passes), which is not
  here to measure.
"""
from __future__ import annotations

import torch

RECIPES: dict[str, dict[str, dict]] = {
    "cpu": {
        "vae": {"iterations": 3000, "width": 32, "batch_size": 64, "lr": 2e-3, "kl_warmup": 2000, "ckpt_every": 250},
        "gan": {"iterations": 3500, "width": 32, "batch_size": 32, "lr": 1e-3, "n_critic": 5, "lam": 10.0,
                "augment": "none", "ema": 0.99, "precision": "bf16", "ckpt_every": 250},
    },
    "gpu": {
        "vae": {"iterations": 40000, "width": 64, "batch_size": 64, "lr": 1e-3, "kl_warmup": 5000, "ckpt_every": 4000},
        "gan": {"iterations": 8000, "width": 64, "batch_size": 64, "lr": 5e-4, "n_critic": 5, "lam": 10.0,
                "augment": "translation", "ema": 0.999, "precision": "fp32", "ckpt_every": 500},
    },
}
SMALL_SET = {"vae": dict(RECIPES["cpu"]["vae"])}  # svhn-partial (1,200 images): longer or wider VAEs got worse
QUICK = {"vae": {"iterations": 100, "kl_warmup": 50, "ckpt_every": 50}, "gan": {"iterations": 20, "ckpt_every": 10}}


def pick_profile(profile: str, device: torch.device) -> str:
    """``cpu`` or ``gpu`` for a requested profile (``auto``: by the device)."""
    if profile not in ("auto", "cpu", "gpu"):
        raise ValueError(f"unknown profile {profile!r}")
    if profile != "auto":
        return profile
    return "gpu" if torch.device(device).type == "cuda" else "cpu"


def native_bf16(device: torch.device) -> bool:
    """Whether bfloat16 matrix kernels run natively here (a CUDA GPU, or a CPU with AVX512-BF16 / AMX)."""
    if torch.device(device).type == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def apply_recipe(args, model: str, profile: str, dataset: str = "svhn") -> dict:
    """Fill every setting of ``args`` left at None from the recipe of ``profile`` (:data:`SMALL_SET` first on
    svhn-partial, quick sizes first when ``args.quick``); returns the settings used, explicit flags included."""
    small = SMALL_SET.get(model, {}) if dataset == "svhn-partial" else {}
    recipe = {**RECIPES[profile][model], **small, **(QUICK[model] if args.quick else {})}
    for key, value in recipe.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return {key: getattr(args, key) for key in RECIPES[profile][model]}
