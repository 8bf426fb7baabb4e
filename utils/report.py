"""Report figures: the project's figure style and training-curve plots."""

from __future__ import annotations

import math
import os
from pathlib import Path

from utils.files import atomic_write


def plt():
    """matplotlib.pyplot with the project's style (headless Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    pyplot.rcParams.update(
        {
            "figure.dpi": 110,
            "savefig.dpi": 150,
            "savefig.bbox": "tight",
            "font.size": 10,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.frameon": False,
        }
    )
    return pyplot


def save_figure(fig, path: str | os.PathLike, **savefig_kw) -> Path:
    """Write a matplotlib figure atomically (format from the suffix; ``savefig_kw`` e.g. dpi) and
    close it."""
    path = Path(path)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format=path.suffix.lstrip("."), **savefig_kw))
    plt().close(fig)
    return path


def plot_curves(
    rows: list[dict],
    x: str,
    panels: list[list[str]],
    path: str | os.PathLike,
    title: str = "",
    ylabels: list[str] | None = None,
    labels: dict[str, str] | None = None,
    hlines: dict[int, tuple[float, str]] | None = None,
) -> Path:
    """One panel per list of column names, sharing the x column; saved to ``path``. Series logged
    only at checkpoints are drawn with markers; each panel's y range covers the data after the first
    5% of x, so an initial transient does not flatten the rest. ``labels``: legend text per column;
    ``hlines``: panel index -> (y, label) of a dotted reference line (kept in range)."""
    pyplot = plt()
    fig, axes = pyplot.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.2), squeeze=False)
    styles = ["-", "--", ":", "-."]
    xs = [r[x] for r in rows]
    settled = min(xs) + 0.05 * (max(xs) - min(xs))
    for k, (ax, cols) in enumerate(zip(axes[0], panels)):
        late = []
        for c, style in zip(cols, styles):
            # sparse: checkpoints only
            pts = [(r[x], r[c]) for r in rows if math.isfinite(r.get(c, math.nan))]
            sparse = len(pts) < len(rows) / 2
            ax.plot(
                [p[0] for p in pts],
                [p[1] for p in pts],
                style,
                marker="o" if sparse else None,
                ms=3,
                label=(labels or {}).get(c, c),
            )
            late += [p[1] for p in pts if p[0] >= settled]
        if hlines and k in hlines:
            ax.axhline(hlines[k][0], color="k", ls=":", lw=1, label=hlines[k][1])
            late.append(hlines[k][0])
        if late and max(late) > min(late):
            pad = 0.05 * (max(late) - min(late))
            ax.set_ylim(min(late) - pad, max(late) + pad)
        ax.set_xlabel(x)
        if ylabels:
            ax.set_ylabel(ylabels[k])
        ax.legend()
    fig.suptitle(title)
    save_figure(fig, path)
    return Path(path)
