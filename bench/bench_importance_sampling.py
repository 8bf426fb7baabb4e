"""Benchmark: decoded samples per second of the Question 2.1 estimator,
importance_sampling_log_likelihood, against the best stock PyTorch configuration measured in the
same run: the plain nn.ELU / nn.Conv2d / nn.UpsamplingBilinear2d layers in inference mode at each of
several chunk sizes (decoder batch); both with the scripts' allocator setting
(utils.runtime.keep_freed_memory). Prints each figure, the ratio, the minutes the evaluation (20,000
images x K = 200) takes at that speed, and the largest difference of the per-image estimates from
the stock float32 ones (nats per image). The two configurations take turns, round after round; each
figure is the best round.
    python bench/bench_importance_sampling.py [--images 20 --k 200 --rounds 3]"""

import argparse
import time

import torch

from problem2 import importance_sampling as ism
from problem2.layers import fast_layers
from problem2.model import VAE
from utils.cli import get_device

STOCK_CHUNKS = (64, 128, 256, 512, 1024, 4000)
EVALUATION_DECODES = 20_000 * 200


@torch.inference_mode()
def stock(model, x, z, chunk):
    """The estimator on ``model`` (the stock layers), the decoder batch ``chunk``."""
    return ism.log_mean_weight(*ism.log_weight_terms(model, x, z, chunk))


def seconds(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


if __name__ == "__main__":
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--images", type=int, default=20, help="M (default: 20)")
    ap.add_argument("--k", type=int, default=200, help="K (default: 200)")
    ap.add_argument(
        "--rounds", type=int, default=3, help="each figure is the best of this many (default: 3)"
    )
    args = ap.parse_args()
    device = get_device()
    torch.manual_seed(0)
    plain = VAE().to(device).eval()
    model = fast_layers(VAE()).to(device).eval()
    model.load_state_dict(plain.state_dict())
    x = (torch.rand(args.images, 784, device=device) > 0.8).float()
    with torch.no_grad():
        z = ism.sample_posterior(model, x, args.k)
    n = args.images * args.k
    best_stock = {c: float("inf") for c in STOCK_CHUNKS}
    best_fast, reference, fast = float("inf"), None, None
    ism.importance_sampling_log_likelihood(model, x[:2], z[:2])  # warm-up
    for _ in range(args.rounds):
        for c in STOCK_CHUNKS:
            reference, t = seconds(lambda: stock(plain, x, z, c))
            best_stock[c] = min(best_stock[c], t)
        fast, t = seconds(lambda: ism.importance_sampling_log_likelihood(model, x, z))
        best_fast = min(best_fast, t)
    print(
        f"device: {device}, {torch.get_num_threads()} threads; {args.images} images x K = "
        f"{args.k}; "
        f"best of {args.rounds} rounds"
    )
    for c, t in best_stock.items():
        print(
            f"stock layers, inference mode, chunk {c:5d}: {n / t:7.0f} decoded samples/s, "
            f"evaluation ~{EVALUATION_DECODES * t / n / 60:5.1f} min"
        )
    chunk, t_stock = min(best_stock.items(), key=lambda kv: kv[1])
    print(
        f"importance_sampling_log_likelihood:          {n / best_fast:7.0f} decoded samples/s, "
        "evaluation "
        f"~{EVALUATION_DECODES * best_fast / n / 60:5.1f} min; ratio {t_stock / best_fast:.2f}x vs "
        "the best stock "
        f"(chunk {chunk})"
    )
    print(
        f"max |fast - stock| per image: {(fast - reference).abs().max().item():.2e} nats (float32 "
        "throughout)"
    )
