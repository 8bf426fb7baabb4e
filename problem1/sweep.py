"""Problem 1.3: JSD and W1 estimates between p = (0, Z) and q = (theta, Z), Z ~ U[0, 1], theta in [-1, 1].

Writes <results>/problem1/sweep.csv (theta, jsd, wd, true values), sweep.png and values.tex.
True values: JSD = log 2 for theta != 0 (disjoint supports) and 0 at theta = 0; W1 = |theta|.
"""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from problem1.theta_sweep import FULL_LR, FULL_STEPS, sweep
from utils.cli import cli, common_args, fill_sized_defaults, positive_int, sized_flag
from utils.report import plt, save_figure, tex_number, write_csv, write_tex_values
from utils.runtime import results_dir


def plot(rows: list[dict], path: Path, lam: float) -> None:
    pyplot = plt()
    th = np.array([r["theta"] for r in rows])
    fine = np.linspace(-1, 1, 401)
    fig, ax = pyplot.subplots(figsize=(6, 3.8))
    ax.plot(fine, np.where(np.abs(fine) < 1e-9, 0, math.log(2)), "C0:", lw=1, label="true JSD (log 2, 0 at 0)")
    ax.plot(th, [0 if t == 0 else math.log(2) for t in th], "C0.", ms=3)
    ax.plot(fine, np.abs(fine), "C1:", lw=1, label=r"true $W_1 = |\theta|$")
    ax.plot(th, [r["jsd"] for r in rows], "C0o-", label="JSD estimate (nats)")
    ax.plot(th, [r["wd"] for r in rows], "C1s-", label=rf"WD estimate (WGAN-GP, $\lambda$={lam:g})")
    ax.set_xlabel(r"$\theta$")
    ax.set_ylabel("divergence / distance (JSD in nats)")
    ax.set_title(r"p = (0, Z), q = ($\theta$, Z), Z ~ U[0, 1]")
    ax.legend(fontsize=8)
    save_figure(fig, path)


@cli
def main(argv=None):
    ap = common_args(argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter))
    sized_flag(ap, "--steps", FULL_STEPS, 300, "critic training steps per theta and estimator", positive_int)
    ap.add_argument("--lam", type=float, default=50.0, help="gradient-penalty weight lambda (>= 10; default: 50)")
    sized_flag(ap, "--lr", FULL_LR, 1e-2, "Adam learning rate")
    ap.add_argument("--batch-size", type=positive_int, default=512, help="samples per step (default: 512)")
    args = fill_sized_defaults(ap.parse_args(argv))
    out = results_dir("problem1", base=args.results_dir)
    t0 = time.time()
    rows = sweep(args.steps, args.lam, args.lr, args.batch_size, args.seed, args.device)
    wall = time.time() - t0
    write_csv(out / "sweep.csv", rows)
    plot(rows, out / "sweep.png", args.lam)
    jsd_err = max(abs(r["jsd"] - r["jsd_true"]) for r in rows)
    wd_err = max(abs(r["wd"] - r["wd_true"]) for r in rows)
    write_tex_values(out / "sweep_values.tex", {
        "PoneJsdMaxErr": f"{jsd_err:.1e}", "PoneWdMaxErr": tex_number(wd_err, 4),
        "PoneSteps": str(args.steps), "PoneBatch": str(args.batch_size), "PoneLambda": f"{args.lam:g}",
        "PoneLr": f"{args.lr:g}",
        "PoneSweepSeconds": f"{wall:.0f}", "PoneSweepMode": "quick" if args.quick else "full"})
    for r in rows:
        print(f"theta={r['theta']:+.1f}  JSD={r['jsd']:.4f}  WD={r['wd']:.4f}")
    print(f"max |JSD - true| = {jsd_err:.4f} (target <= 0.02); max |WD - |theta|| = {wd_err:.4f} (target <= 0.05)")
    print(f"wall time {wall:.1f} s; wrote {out / 'sweep.csv'}, {out / 'sweep.png'}")


if __name__ == "__main__":
    main()
