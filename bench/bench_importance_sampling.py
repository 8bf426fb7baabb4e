"""Benchmark: decoded samples per second of the importance-sampling evaluator (batched over M x K, inference
mode, the decoder's 5x5 convolution on a 1x1 map as one matmul, bilinear upsampling as two matmuls) vs a naive
per-image loop with the plain PyTorch layers, in the same run; prints the ratio and the largest difference of the estimates (nats per image).
    python bench/bench_importance_sampling.py [--images 20 --k 200]"""
import argparse
import sys
import time
from pathlib import Path

import torch
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from problem2.importance_sampling import importance_sampling_log_likelihood, sample_posterior  # noqa: E402
from problem2.model import VAE, ConvOn1x1, plain_pytorch_layers  # noqa: E402
from utils import get_device  # noqa: E402


def naive(model, x, z):
    """One image at a time, autograd on, the plain nn.Conv2d / nn.UpsamplingBilinear2d kernels."""
    with plain_pytorch_layers(model):
        return torch.stack([importance_sampling_log_likelihood(model, x[i:i + 1], z[i:i + 1])[0]
                            for i in range(len(x))])

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--images", type=int, default=20)
    ap.add_argument("--k", type=int, default=200)
    args = ap.parse_args()
    device = get_device()
    torch.manual_seed(0)
    model = VAE().to(device).eval()
    assert isinstance(model.decoder[0], ConvOn1x1)
    x = (torch.rand(args.images, 784, device=device) > 0.8).float()
    with torch.no_grad():
        z = sample_posterior(model, x, args.k)
    t = time.perf_counter()
    slow = naive(model, x, z)
    t_naive = time.perf_counter() - t
    t = time.perf_counter()
    with torch.inference_mode():
        fast = importance_sampling_log_likelihood(model, x, z)
    t_fast = time.perf_counter() - t
    n = args.images * args.k
    print(f"device: {device}; {args.images} images x K = {args.k}")
    print(f"evaluator: {n / t_fast:9.0f} decoded samples/s; naive per-image loop: {n / t_naive:9.0f}/s; "
          f"ratio {t_naive / t_fast:.2f}x")
    print(f"max |difference| of the estimates: {(fast - slow).abs().max().item():.2e} nats per image (float32)")
