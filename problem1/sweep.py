"""Problem 1.3: JSD and W1 estimates between p = (0, Z) and q = (theta, Z), Z ~ U[0, 1], theta in
[-1, 1].

Writes <results>/problem1/sweep.csv (theta, jsd, wd, true values), sweep.json (settings, largest
errors, time) and sweep.png.
True values: JSD = log 2 for theta != 0 (disjoint supports) and 0 at theta = 0; W1 = |theta|.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from problem1.theta_sweep import sweep
from utils import config as cfg
from utils.cli import UserError, cli, results_dir
from utils.config import at_least, positive_float, positive_int
from utils.files import write_csv, write_json
from utils.report import plt, save_figure

# Settings; --quick is a smoke run. Adam, not the text's SGD at 1e-3, which converges very slowly.
# fmt: off
DEFAULTS = {
    "steps": 800,       # critic steps per theta and estimator: the estimates have converged
    "lr": 4e-3,         # Adam
    "lam": 50.0,        # penalty weight; above 10 to shrink the bias theta^2 / (2 lambda)
    "batch_size": 512,  # the text's
}
QUICK = {"steps": 300, "lr": 1e-2}
# fmt: on


def plot(rows: list[dict], path: Path, lam: float) -> None:
    pyplot = plt()
    th = np.array([r["theta"] for r in rows])
    fine = np.linspace(-1, 1, 401)
    fig, ax = pyplot.subplots(figsize=(6, 3.8))
    ax.plot(
        fine,
        np.where(np.abs(fine) < 1e-9, 0, math.log(2)),
        "C0:",
        lw=1,
        label="true JSD (log 2, 0 at 0)",
    )
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
    ap = cfg.parser(__doc__)
    ap.add_argument(
        "--steps",
        type=positive_int,
        help="critic training steps per theta and estimator "
        f"(default: {DEFAULTS['steps']}; --quick: {QUICK['steps']})",
    )
    ap.add_argument(
        "--lr",
        type=positive_float,
        help=f"Adam learning rate (default: {DEFAULTS['lr']}; --quick: {QUICK['lr']})",
    )
    ap.add_argument(
        "--lam",
        type=at_least(10),
        help=f"gradient-penalty weight lambda, at least 10 (default: {DEFAULTS['lam']})",
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
    rows = sweep(
        config["steps"],
        config["lam"],
        config["lr"],
        config["batch_size"],
        config["seed"],
        config["device"],
    )
    wall = time.time() - t0
    if not all(math.isfinite(r["jsd"]) and math.isfinite(r["wd"]) for r in rows):
        raise UserError("a critic's estimate is nan or inf: training diverged (try a smaller --lr)")
    jsd_err = max(abs(r["jsd"] - r["jsd_true"]) for r in rows)
    wd_err = max(abs(r["wd"] - r["wd_true"]) for r in rows)
    write_csv(out / "sweep.csv", rows)
    summary = {"settings": config, "wall_s": wall, "max_jsd_error": jsd_err, "max_wd_error": wd_err}
    write_json(out / "sweep.json", summary)
    plot(rows, out / "sweep.png", config["lam"])
    for r in rows:
        print(f"theta={r['theta']:+.1f}  JSD={r['jsd']:.4f}  WD={r['wd']:.4f}")
    print(
        f"max |JSD - true| = {jsd_err:.4f} (target <= 0.02); max |WD - |theta|| = {wd_err:.4f} "
        "(target <= 0.05)"
    )
    print(f"wall time {wall:.1f} s; wrote {out / 'sweep.csv'}, {out / 'sweep.png'}")


if __name__ == "__main__":
    main()
