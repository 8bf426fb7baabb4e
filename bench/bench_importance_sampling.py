"""Benchmark: decoded samples per second of the importance-sampling evaluator vs a naive per-image loop with the
plain PyTorch layers, measured in the same run; prints the ratio and the largest difference of the estimates
(nats per image, all float32). The evaluator runs in inference mode over M x K samples in cache-sized chunks, with
the decoder's 5x5 convolution on a 1x1 map as one matmul and bilinear upsampling as two matmuls; a third line
shows the same evaluator on one M x K batch (why the CPU default chunk is small).
    python bench/bench_importance_sampling.py [--images 20 --k 200 --repeats 3]"""
import argparse

import torch

from bench.timing import best_seconds
from problem2.importance_sampling import (
    importance_sampling_log_likelihood,
    log_mean_weight,
    log_weight_terms,
    sample_posterior,
)
from problem2.layers import plain_pytorch_layers
from problem2.model import VAE
from utils.runtime import get_device


def naive(model, x, z):
    """One image at a time, autograd on, the plain nn.Conv2d / nn.UpsamplingBilinear2d kernels."""
    with plain_pytorch_layers(model):
        return torch.stack([importance_sampling_log_likelihood(model, x[i:i + 1], z[i:i + 1])[0]
                            for i in range(len(x))])


@torch.inference_mode()
def evaluator(model, x, z, chunk=None):
    return log_mean_weight(*log_weight_terms(model, x, z, chunk))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=20)
    ap.add_argument("--k", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3, help="each figure is the best of this many runs")
    args = ap.parse_args()
    device = get_device()
    torch.manual_seed(0)
    model = VAE().to(device).eval()
    x = (torch.rand(args.images, 784, device=device) > 0.8).float()
    with torch.no_grad():
        z = sample_posterior(model, x, args.k)
    evaluator(model, x[:2], z[:2])  # warm-up
    slow, t_naive = best_seconds(lambda: naive(model, x, z), args.repeats)
    fast, t_fast = best_seconds(lambda: evaluator(model, x, z), args.repeats)
    _, t_one_batch = best_seconds(lambda: evaluator(model, x, z, args.images * args.k), args.repeats)
    n = args.images * args.k
    print(f"device: {device}; {args.images} images x K = {args.k}; {torch.get_num_threads()} threads")
    print(f"naive per-image loop:     {n / t_naive:8.0f} decoded samples/s")
    print(f"evaluator:                {n / t_fast:8.0f} decoded samples/s; ratio {t_naive / t_fast:.2f}x vs naive")
    print(f"evaluator, one M*K batch: {n / t_one_batch:8.0f} decoded samples/s; ratio {t_naive / t_one_batch:.2f}x")
    print(f"max |evaluator - naive|: {(fast - slow).abs().max().item():.2e} nats per image (float32 throughout)")
