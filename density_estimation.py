"""Problem 1.4: estimate the unknown density f1 of ``distribution4`` with a discriminator against
f0 = N(0, 1).

The discriminator maximises

    E_{x~f1}[log D(x)] + E_{y~f0}[log(1 - D(y))]

(the text's second expectation under f1 is an erratum: it must be under f0). At the optimum
D*(x) = f1(x) / (f0(x) + f1(x)), hence

    f1(x) = f0(x) D(x) / (1 - D(x)) = f0(x) exp(logit D(x)).

Writes, under <results>/problem1/: density_discriminator.png (D(x) on [-5, 5]), density_estimate.png
(estimate vs the true density of f(X), X ~ N(0, 1), by change of variables), density.csv,
density.json (settings, L1 distance); prints the L1 distance between estimate and truth on the grid.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from problem1.critics import MLP
from samplers import density4, distribution3, distribution4
from utils import config as cfg
from utils.cli import UserError, cli, get_device, progress, results_dir
from utils.config import positive_float, positive_int
from utils.files import write_csv, write_json
from utils.report import plt, save_figure
from utils.runtime import seed_everything

DEFAULTS = {"steps": 5000, "lr": 1e-3, "batch_size": 512}
QUICK = {"steps": 1500}

GRID = np.linspace(-5, 5, 1000)


def train_discriminator(
    steps: int, lr: float, batch_size: int, seed: int, device=None
) -> torch.nn.Module:
    """Maximise E_f1[log D] + E_f0[log(1 - D)] (as minimising the BCE); D = sigmoid(MLP(x))."""
    device = get_device(device)
    seed_everything(seed)
    rng = np.random.default_rng(seed)
    f1, f0 = distribution4(batch_size, rng=rng), distribution3(batch_size, rng=rng)
    disc = MLP(1, hidden=64).to(device)
    opt = torch.optim.Adam(disc.parameters(), lr=lr)
    for step in progress(range(steps), desc="discriminator"):
        x1 = torch.as_tensor(next(f1), dtype=torch.float32, device=device)
        x0 = torch.as_tensor(next(f0), dtype=torch.float32, device=device)
        loss = -(F.logsigmoid(disc(x1)).mean() + F.logsigmoid(-disc(x0)).mean())
        if not torch.isfinite(loss):
            raise UserError(
                f"the discriminator's loss is {loss.item()} at step {step + 1}: training diverged "
                "(try a "
                "smaller --lr)"
            )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return disc.eval()


@torch.no_grad()
def estimate_density(disc: torch.nn.Module, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(D(x), f0(x) D(x) / (1 - D(x))) on points x of shape (n,); the ratio is f0(x) exp(logit)."""
    p = next(disc.parameters())
    logit = (
        disc(torch.as_tensor(x, dtype=torch.float32, device=p.device)[:, None])
        .double()
        .cpu()
        .numpy()
    )
    f0 = np.exp(-0.5 * x**2) / np.sqrt(2 * np.pi)
    return 1 / (1 + np.exp(-logit)), f0 * np.exp(logit)


def plot(x, d, est, true, out: Path) -> None:
    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(5, 3.5))
    ax.plot(x, d, "k-")
    ax.set_title("Discriminator output D(x)")
    ax.set_xlabel("x")
    ax.set_ylabel("D(x) = P(x from f1)")
    save_figure(fig, out / "density_discriminator.png")
    fig, ax = pyplot.subplots(figsize=(5, 3.5))
    ax.plot(x, true, "k--", label="true density of distribution4")
    ax.plot(x, est, "C3", label=r"estimate $f_0 D / (1 - D)$")
    ax.set_title("Estimated vs true density")
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.legend()
    save_figure(fig, out / "density_estimate.png")


@cli
def main(argv=None):
    ap = cfg.parser(__doc__)
    ap.add_argument(
        "--steps",
        type=positive_int,
        help="discriminator training steps "
        f"(default: {DEFAULTS['steps']}; --quick: {QUICK['steps']})",
    )
    ap.add_argument(
        "--lr", type=positive_float, help=f"Adam learning rate (default: {DEFAULTS['lr']})"
    )
    ap.add_argument(
        "--batch-size",
        type=positive_int,
        help=f"samples per step (default: {DEFAULTS['batch_size']})",
    )
    config = cfg.resolve(ap.parse_args(argv), DEFAULTS, quick=QUICK)
    print(cfg.describe(config))
    out = results_dir("problem1", base=config["results_dir"])
    t0 = time.time()
    disc = train_discriminator(
        config["steps"], config["lr"], config["batch_size"], config["seed"], config["device"]
    )
    d, est = estimate_density(disc, GRID)
    if not np.isfinite(est).all():
        raise UserError(
            "the discriminator's output is not finite: training diverged (try a smaller --lr)"
        )
    true = density4(GRID)
    l1 = float(np.sum(np.abs(est - true)) * (GRID[1] - GRID[0]))
    plot(GRID, d, est, true, out)
    summary = {"settings": config, "l1": l1, "wall_s": time.time() - t0}
    write_json(out / "density.json", summary)
    write_csv(
        out / "density.csv",
        [{"x": a, "D": b, "estimate": c, "true": e} for a, b, c, e in zip(GRID, d, est, true)],
    )
    print(f"L1 distance between estimated and true density on [-5, 5]: {l1:.4f} (target <= 0.1)")
    print(f"wall time {time.time() - t0:.1f} s; figures in {out}")


if __name__ == "__main__":
    main()
