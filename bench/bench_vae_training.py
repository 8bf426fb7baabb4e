"""Benchmark: Problem 2's VAE training speed (Adam 3e-4, binarized-MNIST-shaped batches) per
configuration, in images per second and the minutes 20 epochs of 50,000 images take, with the ratio
against the naive baseline measured in the same run: the stock PyTorch layers (nn.ELU, nn.Conv2d,
nn.UpsamplingBilinear2d) at batch 32. The configurations take turns, round after round, and each
figure is its best round, so a slow spell of the machine hits all of them alike. glibc's malloc
settings are per process and a grown heap stays grown, so the allocator lever is measured apart:
train_vae.py's configuration in fresh processes with glibc's defaults and with freed memory kept
(utils.runtime.keep_freed_memory), page faults per step included. Speed only: a configuration's ELBO
after 20 epochs needs a full run (python problem2/train_vae.py --batch-size B --results-dir ...);
the README has that table.
    python bench/bench_vae_training.py [--steps 20 --rounds 6]"""

import argparse
import json
import resource
import subprocess
import sys
import time

import torch

from problem2.layers import fast_layers
from problem2.model import VAE, negative_elbo
from utils.cli import get_device
from utils.runtime import fast_bf16, keep_freed_memory


def trainer(
    batch: int,
    device,
    *,
    bf16: bool = False,
    compiled: bool = False,
    stock_layers: bool = False,
    channels_last_encoder: bool = False,
):
    """A function running ``steps`` training steps of a fresh VAE (Adam as in train_vae.py)."""
    torch.manual_seed(0)
    model = (VAE() if stock_layers else fast_layers(VAE())).to(device)
    # the 3x3 convolutions' weights channels-last: the encoder's activations follow
    if channels_last_encoder:
        for conv in (model.encoder[0], model.encoder[3]):
            conv.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=3e-4, fused=True)
    x = (torch.rand(batch, 1, 28, 28, device=device) > 0.8).float()

    def loss_fn(xb):
        return negative_elbo(model, xb)[0].float().mean()

    if compiled:
        loss_fn = torch.compile(loss_fn)

    def run(steps: int):
        for _ in range(steps):
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                loss = loss_fn(x)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    return run


def best_per_image(runs: list, batches: list[int], steps: int, rounds: int) -> list[float]:
    """Best seconds per image of each run over ``rounds`` rounds in turn (3 warm-up steps before
    each)."""
    best = [float("inf")] * len(runs)
    for _ in range(rounds):
        for i, (run, batch) in enumerate(zip(runs, batches)):
            run(3)
            start = time.perf_counter()
            run(steps)
            best[i] = min(best[i], (time.perf_counter() - start) / (steps * batch))
    return best


def one_process(keep: bool, steps: int) -> dict:
    """In this (fresh) process: train_vae.py's configuration with or without kept freed memory."""
    if keep:
        keep_freed_memory()
    run = trainer(32, torch.device("cpu"))
    run(3)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.perf_counter()
    run(steps)
    seconds = time.perf_counter() - start
    return {
        "per_image": seconds / (32 * steps),
        "faults": (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / steps,
    }


def allocator_lines(steps: int, rounds: int) -> list[str]:
    """The allocator lever, measured in fresh processes taking turns (best of ``rounds`` each)."""
    best = {}
    for _ in range(rounds):
        for mode in ("default", "keep"):
            out = subprocess.run(
                [sys.executable, __file__, "--one-process", mode, "--steps", str(steps)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            r = json.loads(out.splitlines()[-1])
            if mode not in best or r["per_image"] < best[mode]["per_image"]:
                best[mode] = r
    d, k = best["default"], best["keep"]
    return [
        f"fresh process, glibc's default malloc: {1 / d['per_image']:6.0f} images/s, "
        f"{d['faults']:6.0f} page "
        f"faults per step",
        f"fresh process, freed memory kept:      {1 / k['per_image']:6.0f} images/s, "
        f"{k['faults']:6.0f} page "
        f"faults per step; ratio {d['per_image'] / k['per_image']:.2f}x",
    ]


if __name__ == "__main__":
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--steps", type=int, default=20, help="training steps per round (default: 20)")
    ap.add_argument(
        "--rounds", type=int, default=6, help="rounds; each figure is the best (default: 6)"
    )
    ap.add_argument("--one-process", choices=["default", "keep"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one_process:
        print(json.dumps(one_process(args.one_process == "keep", 3 * args.steps)))
        raise SystemExit
    device = get_device()
    configs = [
        ("naive: stock layers", 32, {"stock_layers": True}),
        ("fast layers (train_vae.py)", 32, {}),
        ("  same, batch 64", 64, {}),
        ("  same, batch 128", 128, {}),
        ("  same, batch 32, torch.compile", 32, {"compiled": True}),
        ("  same, channels-last encoder", 32, {"channels_last_encoder": True}),
    ]
    if fast_bf16(device):
        configs.append(("  same, batch 32, bf16 autocast", 32, {"bf16": True}))
    runs = [trainer(batch, device, **options) for _, batch, options in configs]
    best = best_per_image(runs, [c[1] for c in configs], args.steps, args.rounds)
    print(
        f"device: {device}, {torch.get_num_threads()} threads; fast bf16: {fast_bf16(device)}; "
        f"best of {args.rounds} rounds of {args.steps} steps; freed memory kept"
    )
    for (label, *_), per_image in zip(configs, best):
        print(
            f"{label:34s} {1 / per_image:6.0f} images/s, 20 epochs "
            f"~{20 * 50000 * per_image / 60:5.1f} min, "
            f"ratio {best[0] / per_image:.2f}x vs naive"
        )
    if device.type == "cpu" and keep_freed_memory():
        print("\n".join(allocator_lines(args.steps, 3)))
