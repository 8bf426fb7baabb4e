"""The README's figures: copies the few figures that carry the answers from a results directory
into figures/ (the only outputs the repository tracks), so they are refreshed with the README's
results table and never edited by hand.

    python report/figures.py [RESULTS_DIR]   # default: ./results (`make figures`)

Writes figures/{sweep.png, density.png, samples.png (VAE and WGAN-GP side by side),
fid_curves.png}, each scaled to at most WIDTH pixels wide.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from utils.cli import ROOT, UserError, cli
from utils.report import plt, save_figure

WIDTH = 900  # pixels: sharp on a README page, small in the repository
# README figure <- figure(s) of the results directory
FIGURES = {
    "sweep.png": ["problem1/sweep.png"],
    "density.png": ["problem1/density_estimate.png"],
    "samples.png": ["problem3/vae/samples.png", "problem3/gan/samples.png"],
    "fid_curves.png": ["problem3/fid_curves.png"],
}
TITLES = {"samples.png": ["VAE", "WGAN-GP"]}


def compose(images: list[np.ndarray], titles: list[str] | None, path: Path) -> Path:
    """Images side by side (titled if ``titles``), saved as one PNG at most WIDTH pixels wide."""
    pyplot = plt()
    heights = [im.shape[0] for im in images]
    widths = [im.shape[1] for im in images]
    dpi = 100
    scale = min(1.0, WIDTH / sum(widths))
    fig, axes = pyplot.subplots(
        1,
        len(images),
        figsize=(sum(widths) * scale / dpi, max(heights) * scale / dpi + (0.3 if titles else 0)),
        squeeze=False,
    )
    for ax, im, title in zip(axes[0], images, titles or [None] * len(images)):
        ax.imshow(im, interpolation="lanczos")
        ax.axis("off")
        if title:
            ax.set_title(title, fontsize=10)
    fig.subplots_adjust(left=0, right=1, bottom=0, top=1 if not titles else 0.92, wspace=0.02)
    return save_figure(fig, path, dpi=dpi, pad_inches=0)


@cli
def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    results = Path(argv[0]) if argv else ROOT / "results"
    missing = [f for sources in FIGURES.values() for f in sources if not (results / f).is_file()]
    if missing:
        raise UserError(
            f"{results} lacks {', '.join(missing)}: run the main job first (make), or name the "
            "results directory of a full run"
        )
    pyplot = plt()
    out = ROOT / "figures"
    for name, sources in FIGURES.items():
        images = [pyplot.imread(results / f) for f in sources]
        path = compose(images, TITLES.get(name), out / name)
        print(f"{path}: {path.stat().st_size / 1024:.0f} KiB from {', '.join(sources)}")


if __name__ == "__main__":
    main()
