"""Problem 3 training recipes: the settings each hardware profile uses.

A script's ``--profile`` picks one (``auto``: ``gpu`` when the device is CUDA, else ``cpu``); ``--quick``
shrinks the run; a flag given explicitly always wins over both.

* ``cpu``: all of Problem 3 (both trainings, per-checkpoint FIDs, figures, final FIDs) in about 20 minutes
  on a 2-core CPU.
* ``gpu``: wider models and many more iterations, sized to about 10 minutes on one H100-class GPU.
"""
from __future__ import annotations

import torch

RECIPES: dict[str, dict[str, dict]] = {
    "cpu": {
        "vae": {"iterations": 6000, "width": 32, "batch_size": 64, "lr": 1e-3, "ckpt_every": 1000},
        "gan": {"iterations": 1400, "width": 32, "batch_size": 64, "lr": 2e-4, "n_critic": 5, "lam": 10.0,
                "augment": "translation", "ema": 0.999, "ckpt_every": 200},
    },
    "gpu": {
        "vae": {"iterations": 40000, "width": 64, "batch_size": 64, "lr": 1e-3, "ckpt_every": 4000},
        "gan": {"iterations": 12000, "width": 64, "batch_size": 64, "lr": 2e-4, "n_critic": 5, "lam": 10.0,
                "augment": "translation", "ema": 0.999, "ckpt_every": 1000},
    },
}
QUICK = {"vae": {"iterations": 100, "ckpt_every": 50}, "gan": {"iterations": 20, "ckpt_every": 10}}


def pick_profile(profile: str, device: torch.device) -> str:
    """``cpu`` or ``gpu`` for a requested profile (``auto``: by the device)."""
    if profile not in ("auto", "cpu", "gpu"):
        raise ValueError(f"unknown profile {profile!r}")
    if profile != "auto":
        return profile
    return "gpu" if torch.device(device).type == "cuda" else "cpu"


def apply_recipe(args, model: str, profile: str) -> dict:
    """Fill every setting of ``args`` left at None from the recipe (quick sizes first when ``args.quick``);
    returns the settings used, explicit flags included."""
    recipe = {**RECIPES[profile][model], **(QUICK[model] if args.quick else {})}
    for key, value in recipe.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return {key: getattr(args, key) for key in RECIPES[profile][model]}
