"""The resumable training loop, its checkpoints (settings checked on resume) and random state."""
from __future__ import annotations

import math
import os
import random
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from utils.cli import Interrupted, UserError, progress
from utils.files import atomic_write
from utils.report import write_csv
from utils.runtime import library_versions


def save_checkpoint(path: str | os.PathLike, state: dict) -> Path:
    """Atomically ``torch.save`` a dict of tensors / numbers / lists (loadable with weights_only=True)."""
    return atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: str | os.PathLike, device: torch.device | str = "cpu") -> dict:
    """Load a checkpoint written by :func:`save_checkpoint`; one clear error if missing or corrupt."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint not found: {path} (train the model first)")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling failure means a bad file
        raise UserError(f"corrupt or unreadable checkpoint {path}: {type(e).__name__}") from None
    if not isinstance(state, dict):
        raise UserError(f"corrupt checkpoint {path}: expected a dict")
    return state


def rng_state() -> dict:
    """The state of every random generator (torch CPU and CUDA, numpy, Python), positions included."""
    _, keys, pos, has_gauss, gauss = np.random.get_state()
    _, internal, gauss_next = random.getstate()
    s = {"torch": torch.get_rng_state(), "numpy": keys.tolist(), "numpy_pos": [int(pos), int(has_gauss), float(gauss)],
         "python": internal, "python_gauss": gauss_next}
    if torch.cuda.is_available():
        s["cuda"] = torch.cuda.get_rng_state_all()
    return s


def set_rng_state(s: dict) -> None:
    """Restore what :func:`rng_state` saved (states saved without positions restart numpy at position 624)."""
    torch.set_rng_state(s["torch"])
    pos, has_gauss, gauss = s.get("numpy_pos", [624, 0, 0.0])
    np.random.set_state(("MT19937", np.asarray(s["numpy"], dtype=np.uint32), pos, has_gauss, gauss))
    random.setstate((3, tuple(s["python"]), s.get("python_gauss")))
    if "cuda" in s and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])


def check_resume(state: dict, ckpt_path, settings: dict | None, num_steps: int, desc: str) -> None:
    """Refuse to resume a checkpoint made with other settings (named) or already past ``num_steps``."""
    ways_out = "use another --results-dir, or --restart to start over"
    stored = state.get("settings")
    if settings is not None and stored is None:
        print(f"note: {ckpt_path} records no settings (an older version made it); resuming without checking them",
              file=sys.stderr)
    elif settings is not None:
        differ = [f"{k} {stored.get(k)!r} -> {settings.get(k)!r}" for k in sorted(set(stored) | set(settings))
                  if stored.get(k) != settings.get(k)]
        if differ:
            raise UserError(f"{ckpt_path} was trained with other settings ({'; '.join(differ)}): {ways_out}")
    if state["step"] > num_steps:
        raise UserError(f"{ckpt_path} is at step {state['step']}, past the {num_steps} steps asked for: {ways_out}")
    versions = state.get("versions", {})
    if versions and versions != library_versions():
        print(f"note: {ckpt_path} was written with {versions}, resumed with {library_versions()}", file=sys.stderr)
    if 0 < state["step"] < num_steps and state["step"] == state.get("num_steps"):
        print(f"extending {desc} from step {state['step']} to {num_steps}", file=sys.stderr)


def batch_indices(n: int, batch_size: int, step: int, seed: int) -> np.ndarray:
    """Indices of training batch ``step``: epoch ``step // ceil(n / batch_size)`` uses a permutation
    seeded by (seed, epoch). A pure function of its arguments, so a resumed run sees the same batches."""
    per_epoch = math.ceil(n / batch_size)
    epoch, i = divmod(step, per_epoch)
    perm = np.random.default_rng([seed, epoch]).permutation(n)
    return perm[i * batch_size:(i + 1) * batch_size]


def train(*, modules: dict[str, torch.nn.Module], optimizers: dict[str, torch.optim.Optimizer],
          step_fn: Callable[[int], dict], num_steps: int, ckpt_path: str | os.PathLike,
          log_path: str | os.PathLike, log_every: int, ckpt_every: int,
          eval_fn: Callable[[], dict] | None = None, desc: str = "train", meta: dict | None = None,
          settings: dict | None = None, restart: bool = False) -> list[dict]:
    """The one training loop of the project, resumable.

    ``step_fn(step)`` runs one optimisation step and returns a dict of float metrics. Every ``log_every``
    steps the mean metrics become a CSV row (plus ``eval_fn()`` at checkpoints); every ``ckpt_every`` steps
    (and at the end) modules, optimisers, the RNG state and the log are checkpointed atomically. If
    ``ckpt_path`` exists, training resumes from it and gives the same result as an uninterrupted run.
    ``meta`` (e.g. the architecture's width) is stored in the checkpoint for loaders. ``settings`` (every
    setting that shapes the run except its length, and a data fingerprint) is stored too, with the library
    versions; a checkpoint made with other settings, or past ``num_steps``, is refused (:func:`check_resume`);
    a finished one is extended when ``num_steps`` is larger. ``restart``: ignore an existing checkpoint.
    Returns the log rows.
    """
    start, history, elapsed = 0, [], 0.0
    if Path(ckpt_path).exists() and not restart:
        state = load_checkpoint(ckpt_path)
        check_resume(state, ckpt_path, settings, num_steps, desc)
        try:
            for k, m in modules.items():
                m.load_state_dict(state["modules"][k])
            for k, o in optimizers.items():
                o.load_state_dict(state["optimizers"][k])
        except (KeyError, RuntimeError, ValueError) as e:
            raise UserError(f"checkpoint {ckpt_path} does not match this model/config ({type(e).__name__}): "
                            "use another --results-dir, or --restart to start over") from None
        start, history, elapsed = state["step"], state["history"], state.get("elapsed", 0.0)
        set_rng_state(state["rng"])
        if start < num_steps:
            print(f"resuming {desc} from step {start} ({ckpt_path})", file=sys.stderr)
    sums: dict[str, float] = {}
    count, t_start = 0, time.time()
    bar = progress(range(start, num_steps), desc=desc, initial=start, total=num_steps)
    saved, step = (start or None), start
    try:
        for step in bar:
            for m in modules.values():
                m.train()
            metrics = step_fn(step)
            for k, v in metrics.items():
                sums[k] = sums.get(k, 0.0) + float(v)
            count += 1
            done = step + 1
            at_ckpt = done % ckpt_every == 0 or done == num_steps
            if done % log_every == 0 or at_ckpt:
                row = {"step": done, **{k: v / count for k, v in sums.items()},
                       "elapsed_s": elapsed + time.time() - t_start}
                sums, count = {}, 0
                if at_ckpt and eval_fn is not None:
                    for m in modules.values():
                        m.eval()
                    with torch.no_grad():
                        row.update({k: float(v) for k, v in eval_fn().items()})
                history.append(row)
                bar.set_postfix({k: f"{v:.3g}" for k, v in list(row.items())[1:4]})
            if at_ckpt:
                save_checkpoint(ckpt_path, {
                    "step": done, "num_steps": num_steps, "history": history, "rng": rng_state(), "meta": meta or {},
                    "settings": settings, "versions": library_versions(), "elapsed": elapsed + time.time() - t_start,
                    "modules": {k: m.state_dict() for k, m in modules.items()},
                    "optimizers": {k: o.state_dict() for k, o in optimizers.items()}})
                write_csv(log_path, history)
                saved = done
    except KeyboardInterrupt:
        bar.close()
        kept = f"checkpoint at step {saved} kept ({ckpt_path})" if saved else "no checkpoint written yet"
        raise Interrupted(f"interrupted at step {step}; {kept}") from None
    bar.close()
    for m in modules.values():
        m.eval()
    return history
