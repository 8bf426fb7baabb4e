"""FID against training arithmetic for Problem 3 runs: each run's monitoring FID (selection images,
problem3/fid_curves.py) at each checkpoint, over the FLOP it took to get there (matrix products and
convolutions, counted by bench/flops.py on the run's own settings: width, batch size, critic
steps, gradient-penalty interval). Prints a table and draws the curves.

    python bench/problem3_tradeoff.py RUN_DIR [RUN_DIR ...] [--out docs/problem3_tradeoff.png]

RUN_DIR: a training run's folder, <results>/problem3/{vae,gan}/<run>/ (fid_curve.csv, written by
problem3/fid_curves.py, or the fid column of a train_log.csv from before it; run.json)."""

import argparse
import csv
import json
from functools import cache
from pathlib import Path

import torch
from flops import count_flops

from problem1.critics import gradient_penalty, wd_objective
from problem3.models import LATENT, Critic, Encoder, Generator, vae_loss
from utils.report import plt, save_figure


@cache
def gan_gflop(width: int, batch: int, n_critic: int, gp_every: int) -> float:
    """GFLOP of one generator iteration: n_critic critic updates (the penalty's double backward on
    every gp_every-th of them) and the generator update."""
    g, c = Generator(width=width), Critic(width=width)
    real = torch.randn(batch, 3, 32, 32)

    def critic_update(penalised: bool):
        with torch.no_grad():
            fake = g(torch.randn(batch, LATENT))
        scores = c(torch.cat([real, fake]))
        w = wd_objective(scores[:batch], scores[batch:])
        gp = gradient_penalty(c, real, fake, 10.0) if penalised else 0
        (-(w - gp)).backward()

    def generator_update():
        (-c(g(torch.randn(batch, LATENT))).mean()).backward()

    plain, penalised = (
        count_flops(lambda: critic_update(False)),
        count_flops(lambda: critic_update(True)),
    )
    critic = plain + (penalised - plain) / gp_every
    return (n_critic * critic + count_flops(generator_update)) / 1e9


@cache
def vae_gflop(width: int, batch: int) -> float:
    """GFLOP of one VAE update (encoder and decoder, forward and backward)."""
    e, g = Encoder(width=width), Generator(width=width)
    x = torch.rand(batch, 3, 32, 32) * 2 - 1
    return count_flops(lambda: vae_loss(e, g, x, 3.0)[0].mean().backward()) / 1e9


def settings(run: Path) -> tuple[str, dict]:
    """(model, settings) of a run folder: from run.json, or from the checkpoint of a run stopped
    before its end."""
    if (run / "run.json").exists():
        summary = json.loads((run / "run.json").read_text())
        return summary["model"], summary["settings"]
    model = "gan" if (run / "gan.pt").exists() else "vae"
    state = torch.load(run / f"{model}.pt", map_location="cpu", weights_only=True)
    return model, state["settings"]


def curve(run: Path) -> tuple[str, float, list[tuple[int, float]]]:
    """(label, GFLOP per iteration, [(iterations, FID)]) of one run folder."""
    model, s = settings(run)
    if model == "gan":
        gflop = gan_gflop(s["width"], s["batch_size"], s["n_critic"], s.get("gp_every", 1))
    else:
        gflop = vae_gflop(s["width"], s["batch_size"])
    scored = run / "fid_curve.csv" if (run / "fid_curve.csv").exists() else run / "train_log.csv"
    with open(scored, newline="") as f:  # step: iterations done
        points = [
            (int(float(r["step"])), float(r["fid"])) for r in csv.DictReader(f) if r.get("fid")
        ]
    return f"{model} {run.name}", gflop, points


if __name__ == "__main__":
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, help="write the figure here (PNG)")
    args = ap.parse_args()
    fig, ax = plt().subplots(figsize=(6.5, 4))
    columns = ("GFLOP/it", "iterations", "TFLOP", "FID", "best FID")
    print(f"{'run':28s} " + " ".join(f"{c:>10s}" for c in columns))
    for run in args.runs:
        label, gflop, points = curve(run)
        steps, fids = zip(*points)
        ax.plot([n * gflop / 1e3 for n in steps], fids, marker=".", label=label)
        row = (f"{gflop:.2f}", steps[-1], f"{steps[-1] * gflop / 1e3:.1f}", f"{fids[-1]:.0f}",
               f"{min(fids):.0f}")  # fmt: skip
        print(f"{label:28s} " + " ".join(f"{c:>10}" for c in row))
    ax.set(
        xlabel="training arithmetic, TFLOP",
        ylabel="FID, selection images (1,000 samples)",
        ylim=(0, 80000),
    )
    ax.legend(fontsize=7)
    if args.out:
        save_figure(fig, args.out)
        print(f"figure: {args.out}")
