"""Benchmark: Problem 2's VAE training speed (Adam 3e-4, binarized-MNIST-shaped batches) per configuration, in
images per second and the minutes 20 epochs of 50,000 images take, with the ratio against the naive baseline
measured in the same run: the stock PyTorch layers (nn.ELU, nn.Conv2d, nn.UpsamplingBilinear2d) at batch 32 with
glibc's default malloc. The configurations take turns, round after round, and each figure is its best round, so
a slow spell of the machine hits all of them alike. Speed only: a configuration's ELBO after 20 epochs needs a
full run (python problem2/train_vae.py --batch-size B --results-dir ...); the README has that table.
    python bench/bench_vae_training.py [--steps 20 --rounds 8]"""
import argparse
import contextlib
import time

import torch

from problem2.layers import plain_pytorch_layers
from problem2.model import VAE, negative_elbo
from problem3.recipes import native_bf16
from utils.runtime import get_device, keep_freed_memory


def trainer(batch: int, bf16: bool, device):
    """A function running ``steps`` training steps of a fresh VAE."""
    torch.manual_seed(0)
    model = VAE().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=3e-4)
    x = (torch.rand(batch, 1, 28, 28, device=device) > 0.8).float()

    def run(steps: int, stock_layers: bool):
        with plain_pytorch_layers(model) if stock_layers else contextlib.nullcontext():
            for _ in range(steps):
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                    loss = negative_elbo(model, x)[0].float().mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
    return run


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=20, help="training steps per round (default: 20)")
    ap.add_argument("--rounds", type=int, default=8, help="rounds; each figure is the best (default: 8)")
    args = ap.parse_args()
    device = get_device()
    # (label, batch, bf16, stock layers, glibc's default malloc)
    configs = [("naive: stock layers, default malloc", 32, False, True, True),
               ("stock layers, freed memory kept", 32, False, True, False),
               ("fast layers, default malloc", 32, False, False, True),
               ("fast layers, freed memory kept (train_vae.py)", 32, False, False, False),
               ("  same, batch 64", 64, False, False, False),
               ("  same, batch 128", 128, False, False, False)]
    if native_bf16(device):
        configs.append(("  same, batch 32, bf16 autocast", 32, True, False, False))
    runs = [trainer(batch, bf16, device) for _, batch, bf16, _, _ in configs]
    best = [float("inf")] * len(configs)
    for _ in range(args.rounds):
        for i, ((_, batch, _, stock, default_malloc), run) in enumerate(zip(configs, runs)):
            keep_freed_memory(not default_malloc)
            run(3, stock)  # warm-up (and the heap settles)
            start = time.perf_counter()
            run(args.steps, stock)
            best[i] = min(best[i], (time.perf_counter() - start) / (args.steps * batch))
    keep_freed_memory(True)
    print(f"device: {device}, {torch.get_num_threads()} threads; native bf16: {native_bf16(device)}; "
          f"best of {args.rounds} rounds of {args.steps} steps")
    for (label, *_), per_image in zip(configs, best):
        print(f"{label:48s} {1 / per_image:6.0f} images/s, 20 epochs ~{20 * 50000 * per_image / 60:5.1f} min, "
              f"ratio {best[0] / per_image:.2f}x vs naive")
