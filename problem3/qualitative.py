"""Problem 3, Questions 3.1-3.3 for both models: samples, per-dimension latent perturbations, and
interpolation in latent space vs data space. Reads the checkpoints of one training seed
(<results>/problem3/<model>/seed<S>/, --train-seed); writes <results>/problem3/<model>/{samples.png,
perturbations.png, interpolation.png, perturbation_ranking.csv}.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from problem3.classifier import default_classifier_path, load_classifier
from problem3.common import fixed_latents, save_grid
from problem3.models import LATENT, MODELS, checkpoint_path, load_generator
from utils import config as cfg
from utils.cli import cli, get_device, results_dir
from utils.config import between, seed
from utils.files import write_csv, write_json
from utils.report import plt, save_figure

ALPHAS = np.round(np.linspace(0, 1, 11), 1)
EPS_GRID = (0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0)
# mean absolute pixel change (images in [-1, 1]) of the top dimension that counts as visible
VISIBLE = 0.05


@torch.no_grad()
def perturbation_ranking(g, z: torch.Tensor, eps: float) -> np.ndarray:
    """Mean absolute pixel change |g(z + eps e_i) - g(z)| for every latent dimension i: z (1, L) ->
    (L,)."""
    zs = z.repeat(LATENT, 1) + eps * torch.eye(LATENT, device=z.device)
    return (g(zs) - g(z)).abs().flatten(1).mean(1).cpu().numpy()


def choose_eps(g, z: torch.Tensor, top: int) -> float:
    """The smallest eps of :data:`EPS_GRID` for which the ``top``-th most influential dimension
    changes the image by at least :data:`VISIBLE` (mean absolute pixel change); the largest eps if
    none does."""
    for eps in EPS_GRID:
        if np.sort(perturbation_ranking(g, z, eps))[::-1][top - 1] >= VISIBLE:
            return eps
    return EPS_GRID[-1]


def labelled_grid(
    images: torch.Tensor,
    ncol: int,
    row_labels: list[str],
    col_labels: list[str],
    path: Path,
    title: str = "",
) -> Path:
    """Images (R * ncol, 3, 32, 32) in [-1, 1] as an R x ncol grid with a label left of each row and
    above each column, saved as a PNG."""
    from torchvision.utils import make_grid

    pyplot = plt()
    grid = make_grid(
        images.detach().cpu().clamp(-1, 1) * 0.5 + 0.5, nrow=ncol, padding=2, pad_value=1.0
    )
    nrows = len(row_labels)
    fig, ax = pyplot.subplots(figsize=(0.55 * ncol + 1.6, 0.55 * nrows + 0.6))
    ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
    step = 34  # 32 pixels + 2 of padding
    ax.set_yticks([2 + step * r + 16 for r in range(nrows)], row_labels, fontsize=9)
    ax.set_xticks([2 + step * c + 16 for c in range(ncol)], col_labels, fontsize=9)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    ax.grid(False)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path, dpi=200)


STEPS = (-2, -1, 0, 1, 2)  # a row of the perturbation figure: z_i + k eps, k = 0 unperturbed
CHANNELS = ("red", "green", "blue")


@torch.no_grad()
def dimension_rows(g, z: torch.Tensor, eps: float) -> torch.Tensor:
    """g(z + k eps e_i) for every dimension i and k in :data:`STEPS`: (L, 5, 3, 32, 32), [-1, 1]."""
    shifts = torch.tensor(STEPS, dtype=z.dtype, device=z.device) * eps
    codes = z + shifts.view(1, -1, 1) * torch.eye(LATENT, device=z.device).unsqueeze(1)
    return g(codes.reshape(-1, LATENT)).view(LATENT, len(STEPS), 3, 32, 32)


@torch.no_grad()
def what_changes(rows: torch.Tensor, classifier) -> dict:
    """Along each row of :func:`dimension_rows` (from -2 eps to +2 eps): the change of the mean
    brightness, of each colour channel's mean and of the contrast (standard deviation of the grey
    levels), all on [0, 1] pixel levels, and the classifier's predicted digit at each step.
    Returns arrays over the L dimensions: brightness, red, green, blue, contrast (L,), digits
    (L, 5)."""
    x = rows * 0.5 + 0.5  # [0, 1]
    channel = x.mean(dim=(3, 4))  # (L, 5, 3)
    grey_sd = x.mean(dim=2).flatten(2).std(dim=2)  # (L, 5)
    logits = classifier(rows.flatten(0, 1).to(next(classifier.parameters()).device))
    first, last = 0, len(STEPS) - 1
    return {
        "brightness": (channel.mean(2)[:, last] - channel.mean(2)[:, first]).cpu().numpy(),
        **{
            c: (channel[:, last, j] - channel[:, first, j]).cpu().numpy()
            for j, c in enumerate(CHANNELS)
        },
        "contrast": (grey_sd[:, last] - grey_sd[:, first]).cpu().numpy(),
        "digits": logits.argmax(1).view(len(rows), len(STEPS)).cpu().numpy(),
    }


def describe_dimension(changes: dict, i: int) -> str:
    """One line naming what dimension i changes from -2 eps to +2 eps, e.g. 'brightness +0.12,
    red +0.08, contrast -0.03; digit 3 kept' (the colour: the channel that changes most)."""
    colour = max(CHANNELS, key=lambda c: abs(changes[c][i]))
    digits = changes["digits"][i]
    digit = (
        f"digit {digits[0]} kept"
        if (digits == digits[0]).all()
        else ("digit " + "-".join(str(d) for d in dict.fromkeys(digits.tolist())))
    )
    return (
        f"brightness {changes['brightness'][i]:+.2f}, {colour} {changes[colour][i]:+.2f}, "
        f"contrast {changes['contrast'][i]:+.2f}; {digit}"
    )


@torch.no_grad()
def perturbation_figure(
    rows: torch.Tensor, dims: np.ndarray, labels: list[str], eps: float, path: Path
) -> None:
    """One row per dimension i of ``dims``: g(z + k eps e_i) for k in :data:`STEPS` (k = 0 is the
    unperturbed image), labelled with what changes along it."""
    labelled_grid(
        rows[torch.as_tensor(dims)].flatten(0, 1),
        len(STEPS),
        labels,
        [rf"$z_i{k:+d}\epsilon$" if k else "$z$" for k in STEPS],
        path,
        title=f"eps = {eps:g}; row: dimension i, what changes from -2 eps to +2 eps",
    )


@torch.no_grad()
def interpolations(g, z0: torch.Tensor, z1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(g(a z0 + (1 - a) z1), a g(z0) + (1 - a) g(z1)) for a = 0, 0.1, ..., 1; each (11, 3, 32,
    32)."""
    a = torch.tensor(ALPHAS, dtype=z0.dtype, device=z0.device).view(-1, 1)
    latent = g(a * z0 + (1 - a) * z1)
    x0, x1 = g(z0), g(z1)
    data = a.view(-1, 1, 1, 1) * x0 + (1 - a.view(-1, 1, 1, 1)) * x1
    return latent, data


DEFAULTS = {
    "eps": None,
    "dims": 6,
    "pairs": 3,
    "train_seed": 0,
    "allow_unfinished": False,
    "model": None,  # the course's classifier, for the predicted digit along each dimension
}


@cli
def main(argv=None):
    ap = cfg.parser(__doc__)
    ap.add_argument(
        "--eps",
        type=between(1e-3, 100.0),
        help="perturbation step epsilon, 0.001 to 100 (default: per model, the smallest of "
        f"{', '.join(map(str, EPS_GRID))} whose shown dimensions change the image visibly)",
    )
    ap.add_argument(
        "--dims",
        type=between(1, LATENT, int),
        help=f"most-changing dimensions to show, 1 to {LATENT} (default: {DEFAULTS['dims']})",
    )
    ap.add_argument(
        "--pairs",
        type=between(1, 20, int),
        help=f"interpolation pairs, rows of the figure: 1 to 20 (default: {DEFAULTS['pairs']})",
    )
    ap.add_argument(
        "--train-seed", type=seed, help="draw the models trained with this seed (default: 0)"
    )
    ap.add_argument(
        "--allow-unfinished",
        action="store_true",
        help="use checkpoints whose training has not finished (their steps are recorded)",
    )
    ap.add_argument(
        "--model",
        help="classifier that names the digit along each dimension (default: ./svhn_classifier.pt, "
        "else the data directory's)",
    )
    config = cfg.resolve(ap.parse_args(argv), DEFAULTS)
    print(cfg.describe(config))
    device = get_device(config["device"])
    root = results_dir("problem3", base=config["results_dir"])
    # both checked before any figure
    models = {
        name: load_generator(
            checkpoint_path(root, name, config["train_seed"]),
            device,
            name,
            config["allow_unfinished"],
        )
        for name in MODELS
    }
    classifier = load_classifier(
        config["model"] or default_classifier_path(config["data_dir"]), device
    )
    summary = {"settings": config}
    for name, (g, source) in models.items():
        out = root / name
        save_grid(g(fixed_latents(64, device=device)), out / "samples.png")
        gen = torch.Generator().manual_seed(config["seed"])
        z = torch.randn(1, LATENT, generator=gen).to(device)
        eps = (
            config["eps"]
            if config["eps"] is not None
            else choose_eps(g, z, min(config["dims"], LATENT))
        )
        change = perturbation_ranking(g, z, eps)
        order = np.argsort(-change)
        shown = order[: config["dims"]]
        # what each dimension changes: brightness, colour, contrast, the predicted digit
        rows = dimension_rows(g, z, eps)
        changes = what_changes(rows, classifier)
        described = {int(i): describe_dimension(changes, i) for i in shown}
        write_csv(
            out / "perturbation_ranking.csv",
            [
                {
                    "dim": int(i),
                    "mean_abs_pixel_change": float(change[i]),
                    **{k: float(changes[k][i]) for k in ("brightness", *CHANNELS, "contrast")},
                    "digit_changes": bool((changes["digits"][i] != changes["digits"][i][0]).any()),
                }
                for i in order
            ],
        )
        labels = [
            f"z{i} ({change[i]:.3f})\n" + described[int(i)].replace("; ", "\n") for i in shown
        ]
        perturbation_figure(rows, shown, labels, eps, out / "perturbations.png")
        digit_changes = (changes["digits"] != changes["digits"][:, :1]).any(axis=1)
        pairs = []
        for _ in range(config["pairs"]):
            z0, z1 = (torch.randn(1, LATENT, generator=gen).to(device) for _ in range(2))
            pairs += list(interpolations(g, z0, z1))
        labelled_grid(
            torch.cat(pairs),
            len(ALPHAS),
            [f"{kind} {p + 1}" for p in range(config["pairs"]) for kind in ("latent", "data")],
            [f"{a:g}" for a in ALPHAS],
            out / "interpolation.png",
            title="alpha (weight of the first end)",
        )
        summary[name] = {
            "model": source,
            "eps": eps,
            "shown_dims": shown.tolist(),
            "shown_change": [float(change[i]) for i in shown],
            "median_change": float(np.median(change)),
            "dims_above_visible": int((change >= VISIBLE).sum()),
            "shown_described": [described[int(i)] for i in shown],
            "shown_digit_changes": [bool(digit_changes[i]) for i in shown],
            "dims_changing_digit": int(digit_changes.sum()),
            "digit_at_z": int(changes["digits"][0][STEPS.index(0)]),
        }
        print(f"{name}: eps {eps:g}; top dimensions {shown.tolist()}; figures in {out}")
    summary["visible"] = VISIBLE
    write_json(root / "qualitative.json", summary)


if __name__ == "__main__":
    main()
