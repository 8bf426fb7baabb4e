"""Benchmark: Problem 2's VAE training speed (Adam 3e-4 on binarized-MNIST-shaped data) per configuration, in
images per second and the minutes 20 epochs of 50,000 images would take, with the ratio against today's
configuration (batch 32, float32) measured in the same run. Speed only: a configuration's ELBO after 20 epochs
needs a full run (python problem2/train_vae.py --batch-size B --results-dir ...).
    python bench/bench_vae_training.py [--steps 60]"""
import argparse

import torch

from bench.timing import best_seconds
from problem2.model import VAE, negative_elbo
from problem3.recipes import native_bf16
from utils.runtime import get_device


def images_per_second(batch: int, bf16: bool, steps: int, device) -> float:
    torch.manual_seed(0)
    model = VAE().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=3e-4)
    x = (torch.rand(batch, 1, 28, 28, device=device) > 0.8).float()

    def run():
        for _ in range(steps):
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                loss = negative_elbo(model, x)[0].float().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    run()  # warm-up
    return batch * steps / best_seconds(run, 2)[1]


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=60, help="training steps per timing (default: 60)")
    args = ap.parse_args()
    device = get_device()
    configs = [(32, False), (64, False), (128, False)] + ([(32, True), (64, True)] if native_bf16(device) else [])
    print(f"device: {device}, {torch.get_num_threads()} threads; native bf16: {native_bf16(device)}")
    base = None
    for batch, bf16 in configs:
        rate = images_per_second(batch, bf16, args.steps, device)
        base = base or rate
        print(f"batch {batch:4d} {'bf16' if bf16 else 'fp32'}: {rate:7.0f} images/s, 20 epochs ~"
              f"{20 * 50000 / rate / 60:5.1f} min, ratio {rate / base:.2f}x vs batch 32 fp32")
