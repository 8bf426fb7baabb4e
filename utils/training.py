"""Resumable training runs: atomic checkpoints (settings checked on resume), the log, and the random
state."""

from __future__ import annotations

import contextlib
import fcntl
import io
import math
import os
import random
import sys
import time
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from utils.cli import Interrupted, UserError, progress
from utils.files import atomic_write, write_csv
from utils.runtime import library_versions


def save_checkpoint(path: str | os.PathLike, state: dict) -> Path:
    """Atomically ``torch.save`` a dict of tensors / numbers / lists (loadable with
    weights_only=True). It is serialised in memory first, so a full disk is reported with the size
    needed."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    data = buffer.getvalue()
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(data), size=len(data))


def load_checkpoint(path: str | os.PathLike, device: torch.device | str = "cpu") -> dict:
    """Load a checkpoint written by :func:`save_checkpoint`, verified: every member of torch's zip
    file against the CRC-32 stored with it (torch.load itself does not check them), and every weight
    finite. One clear error if it is missing or fails either check."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint not found: {path} (train the model first)")
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
        state = (
            torch.load(path, map_location=device, weights_only=True) if damaged is None else None
        )
    except Exception as e:  # noqa: BLE001 - any unpickling failure means a bad file
        raise UserError(f"corrupt or unreadable checkpoint {path}: {type(e).__name__}") from None
    if damaged is not None:
        raise UserError(
            f"corrupt checkpoint {path}: {damaged} fails its CRC-32 check (delete it, or --restart)"
        )
    if not isinstance(state, dict):
        raise UserError(f"corrupt checkpoint {path}: expected a dict")
    if "modules" not in state or "step" not in state:
        plain = state and all(torch.is_tensor(v) for v in state.values())
        kind = "a plain state dict (torch.save(model.state_dict()))" if plain else "another dict"
        raise UserError(
            f"{path} holds {kind}, not a training checkpoint of this project (modules, optimisers "
            "and step): train with the project's script, or --restart to train afresh there"
        )
    for name, module in state.get("modules", {}).items():
        bad = [
            k
            for k, v in module.items()
            if torch.is_tensor(v) and v.is_floating_point() and not v.isfinite().all()
        ]
        if bad:
            raise UserError(
                f"checkpoint {path}: {name}.{bad[0]} holds nan or inf (training diverged; "
                "--restart)"
            )
    return state


def require_finished(state: dict, path: str | os.PathLike, allow_unfinished: bool = False) -> int:
    """The step of a training checkpoint; one clear error if its training has not reached its last
    step, unless ``allow_unfinished`` (then a note names the step used)."""
    step, total = state.get("step"), state.get("num_steps")
    if step is None or step != total:
        if not allow_unfinished:
            raise UserError(
                f"{path} is at step {step} of {total}: its training has not finished (run the "
                "training "
                "again to resume it, or pass --allow-unfinished to use it as it is)"
            )
        print(
            f"note: using the unfinished checkpoint {path} at step {step} of {total}",
            file=sys.stderr,
        )
    return step


@contextlib.contextmanager
def directory_lock(directory: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive lock on ``directory`` (a ``.lock`` file in it); one clear error, naming the
    process that holds it, if another run has it. The lock goes with the process, so a killed run
    leaves none behind."""
    path = Path(directory) / ".lock"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock_file = open(path, "a+")
    except OSError as e:
        raise UserError(
            f"cannot write in {path.parent}: {e.strerror} (choose a writable --results-dir)"
        ) from None
    with lock_file as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            raise UserError(
                f"{directory} is in use by a run still going ({holder}): wait for it, or use "
                "another "
                "--results-dir"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(f"process {os.getpid()}")
        f.flush()
        try:
            yield
        finally:
            f.truncate(0)
            fcntl.flock(f, fcntl.LOCK_UN)


def rng_state() -> dict:
    """The state of every random generator (torch CPU and CUDA, numpy, Python), positions
    included."""
    _, keys, pos, has_gauss, gauss = np.random.get_state()
    _, internal, gauss_next = random.getstate()
    s = {
        "torch": torch.get_rng_state(),
        "numpy": keys.tolist(),
        "numpy_pos": [int(pos), int(has_gauss), float(gauss)],
        "python": internal,
        "python_gauss": gauss_next,
    }
    if torch.cuda.is_available():
        s["cuda"] = torch.cuda.get_rng_state_all()
    return s


def set_rng_state(s: dict) -> None:
    """Restore what :func:`rng_state` saved (states saved without positions restart numpy at
    position 624)."""
    torch.set_rng_state(s["torch"])
    pos, has_gauss, gauss = s.get("numpy_pos", [624, 0, 0.0])
    np.random.set_state(("MT19937", np.asarray(s["numpy"], dtype=np.uint32), pos, has_gauss, gauss))
    random.setstate((3, tuple(s["python"]), s.get("python_gauss")))
    if "cuda" in s and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])


def check_resume(state: dict, ckpt_path, settings: dict | None, num_steps: int, desc: str) -> None:
    """Refuse to resume a checkpoint made with other settings (named) or already past
    ``num_steps``."""
    ways_out = "use another --results-dir, or --restart to start over"
    stored = state.get("settings")
    if settings is not None and stored is None:
        print(
            f"note: {ckpt_path} records no settings (an older version made it); resuming without "
            "checking them",
            file=sys.stderr,
        )
    elif settings is not None:
        differ = [
            f"{k} {stored.get(k)!r} -> {settings.get(k)!r}"
            for k in sorted(set(stored) | set(settings))
            if stored.get(k) != settings.get(k)
        ]
        if differ:
            raise UserError(
                f"{ckpt_path} was trained with other settings ({'; '.join(differ)}): {ways_out}"
            )
    if state["step"] > num_steps:
        raise UserError(
            f"{ckpt_path} is at step {state['step']}, past the {num_steps} steps asked for: "
            f"{ways_out}"
        )
    versions = state.get("versions", {})
    if versions and versions != library_versions():
        print(
            f"note: {ckpt_path} was written with {versions}, resumed with {library_versions()}",
            file=sys.stderr,
        )
    if 0 < state["step"] < num_steps and state["step"] == state.get("num_steps"):
        print(f"extending {desc} from step {state['step']} to {num_steps}", file=sys.stderr)


@lru_cache(maxsize=2)
def epoch_permutation(n: int, seed: int, epoch: int) -> np.ndarray:
    """The order of the ``n`` training examples in ``epoch``, seeded by (seed, epoch); cached, so
    never modify it."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def batch_indices(n: int, batch_size: int, step: int, seed: int) -> np.ndarray:
    """Indices of training batch ``step``: epoch ``step // ceil(n / batch_size)`` uses the
    permutation seeded by (seed, epoch), drawn once per epoch. A pure function of its arguments, so
    a resumed run sees the same batches."""
    per_epoch = math.ceil(n / batch_size)
    epoch, i = divmod(step, per_epoch)
    return epoch_permutation(n, seed, epoch)[i * batch_size : (i + 1) * batch_size].copy()


class ResumableRun:
    """A training run that checkpoints atomically and resumes; the script owns its loop::

        with ResumableRun(ckpt, log, {"vae": model}, {"adam": opt}, num_steps=n, settings=s,
        desc="VAE") as run:
            for step in run.steps():          # the steps left, with a progress bar
                ...                           # the update, written out in the script
                if run.log(step, {"loss": run.finite(loss, step)}, every=steps_per_epoch):  # a row
                of means
                    with run.evaluation():    # eval mode, no gradients
                        metrics = validate()
                    run.checkpoint(metrics)   # joins the row; then everything is saved

    If ``ckpt_path`` exists (and not ``restart``), the modules, optimisers, random state and log are
    restored from it and the run gives the same result as an uninterrupted one. ``settings`` (every
    setting that shapes the run except its length, and a data fingerprint) is stored with the
    library versions; a checkpoint made with other settings, or past ``num_steps``, is refused
    (:func:`check_resume`); a finished one is extended when ``num_steps`` is larger. ``meta`` (e.g.
    the architecture's width) is stored for loaders. Ctrl-C inside the ``with`` block becomes
    :class:`Interrupted`, naming the step and the checkpoint kept. The checkpoint's directory is
    locked for the run (:func:`directory_lock`). ``snapshot``: a module whose weights are kept at
    every checkpoint (``snapshots``, {step: state dict}, stored in the checkpoint), so a measure too
    slow for the loop, such as an FID, can be taken of every checkpoint after training."""

    def __init__(
        self,
        ckpt_path: str | os.PathLike,
        log_path: str | os.PathLike,
        modules: dict[str, torch.nn.Module],
        optimizers: dict[str, torch.optim.Optimizer],
        *,
        num_steps: int,
        settings: dict | None,
        desc: str,
        meta: dict | None = None,
        restart: bool = False,
        snapshot: torch.nn.Module | None = None,
    ):
        self.ckpt_path, self.log_path, self.modules, self.optimizers = (
            Path(ckpt_path),
            log_path,
            modules,
            optimizers,
        )
        self.num_steps, self.settings, self.desc, self.meta = num_steps, settings, desc, meta or {}
        self.start, self.history, self.elapsed_before = 0, [], 0.0
        self.snapshot, self.snapshots = snapshot, {}
        self._lock = directory_lock(self.ckpt_path.parent)
        self._lock.__enter__()
        try:
            if self.ckpt_path.exists() and not restart:
                self._resume()
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        self.step, self.saved = self.start, self.start or None
        self._sums: dict[str, float] = {}
        self._count, self._t0, self._bar = 0, time.time(), None

    def _resume(self) -> None:
        state = load_checkpoint(self.ckpt_path)
        check_resume(state, self.ckpt_path, self.settings, self.num_steps, self.desc)
        try:
            for k, m in self.modules.items():
                m.load_state_dict(state["modules"][k])
            for k, o in self.optimizers.items():
                o.load_state_dict(state["optimizers"][k])
        except (KeyError, RuntimeError, ValueError) as e:
            raise UserError(
                f"checkpoint {self.ckpt_path} does not match this model/config "
                f"({type(e).__name__}): "
                "use another --results-dir, or --restart to start over"
            ) from None
        self.start, self.history, self.elapsed_before = (
            state["step"],
            state["history"],
            state.get("elapsed", 0.0),
        )
        self.snapshots = state.get("snapshots", {})
        set_rng_state(state["rng"])
        if self.start < self.num_steps:
            print(
                f"resuming {self.desc} from step {self.start} ({self.ckpt_path})", file=sys.stderr
            )

    def __enter__(self) -> "ResumableRun":
        return self

    def _set_training(self, mode: bool) -> None:
        for m in self.modules.values():
            m.train(mode)

    def __exit__(self, kind, error, traceback) -> None:
        if self._bar is not None:
            self._bar.close()
        self._set_training(False)
        self._lock.__exit__(None, None, None)
        if kind is KeyboardInterrupt:
            kept = (
                f"checkpoint at step {self.saved} kept ({self.ckpt_path})"
                if self.saved
                else "no checkpoint written yet"
            )
            raise Interrupted(f"interrupted at step {self.step}; {kept}") from None

    def elapsed(self) -> float:
        """Seconds of training so far, over all the runs that resumed one another."""
        return self.elapsed_before + time.time() - self._t0

    def steps(self, probe_seconds: float = 10.0) -> Iterator[int]:
        """The steps left (0-based), the modules in training mode, with a progress bar. Once the
        first steps have taken ``probe_seconds`` (and at least 5 of them), one line says how long
        the rest will take at that speed, so nobody waits an hour unwarned."""
        self._set_training(True)
        self._bar = progress(
            range(self.start, self.num_steps),
            desc=self.desc,
            initial=self.start,
            total=self.num_steps,
        )
        t0, told = time.time(), False
        for step in self._bar:
            self.step = step
            yield step
            done, seconds = step + 1 - self.start, time.time() - t0
            if not told and done >= 5 and seconds >= probe_seconds and step + 1 < self.num_steps:
                told = True
                left = (self.num_steps - step - 1) * seconds / done
                self._bar.write(
                    f"{self.desc}: {done / seconds:.2f} steps/s over the first {done}; the "
                    f"{self.num_steps - step - 1:,} left take about {left / 60:.1f} min more at "
                    "that "
                    "speed (monitoring and checkpoints not counted)",
                    file=sys.stderr,
                )

    def log(self, step: int, metrics: dict, every: int = 1) -> bool:
        """Add a step's float metrics; after every ``every``-th step and the last, append their
        means as a log row (with ``step`` = steps done and ``elapsed_s``) and return True."""
        for k, v in metrics.items():
            self._sums[k] = self._sums.get(k, 0.0) + float(v)
        self._count += 1
        if not self.due(step, every):
            return False
        row = {
            "step": step + 1,
            **{k: v / self._count for k, v in self._sums.items()},
            "elapsed_s": self.elapsed(),
        }
        self._sums, self._count = {}, 0
        self.history.append(row)
        # refresh=False: shown with the bar's own next update, so a log file gets no extra line per
        # step
        self._bar.set_postfix({k: f"{v:.3g}" for k, v in list(row.items())[1:4]}, refresh=False)
        return True

    def due(self, step: int, every: int) -> bool:
        """Whether ``step`` ends a period of ``every`` steps, or the run."""
        return (step + 1) % every == 0 or step + 1 == self.num_steps

    def finite(self, value: torch.Tensor, step: int) -> float:
        """``value`` as a float; one clear error naming the step if it is nan or inf (training
        diverged)."""
        number = value.item() if torch.is_tensor(value) else float(value)
        if not math.isfinite(number):
            kept = (
                f"the checkpoint at step {self.saved} is kept"
                if self.saved
                else "no checkpoint was written"
            )
            raise UserError(
                f"{self.desc}: the loss is {number} at step {step + 1}: training diverged ({kept}; "
                "try a smaller --lr)"
            )
        return number

    @contextlib.contextmanager
    def evaluation(self) -> Iterator[None]:
        """The modules in eval mode and no gradients recorded, for monitoring inside the loop."""
        self._set_training(False)
        try:
            with torch.no_grad():
                yield
        finally:
            self._set_training(True)

    def checkpoint(self, metrics: dict | None = None) -> None:
        """Add ``metrics`` (e.g. validation, computed under :meth:`evaluation`) to the last log row,
        then save the checkpoint (modules, optimisers, random state, log) and the CSV log
        atomically."""
        if metrics:
            self.history[-1].update({k: float(v) for k, v in metrics.items()})
        done = self.step + 1
        if self.snapshot is not None:  # a copy on the CPU: the module goes on training
            weights = self.snapshot.state_dict().items()
            self.snapshots[done] = {k: v.detach().cpu().clone() for k, v in weights}
        save_checkpoint(
            self.ckpt_path,
            {
                "step": done,
                "num_steps": self.num_steps,
                "history": self.history,
                "rng": rng_state(),
                "meta": self.meta,
                "settings": self.settings,
                "versions": library_versions(),
                "elapsed": self.elapsed(),
                "modules": {k: m.state_dict() for k, m in self.modules.items()},
                "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
                "snapshots": self.snapshots,
            },
        )
        write_csv(self.log_path, self.history)
        self.saved = done
