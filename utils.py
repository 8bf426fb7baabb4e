"""Shared helpers for every problem: device, seeding, paths, downloads, checkpoints, plots, training loop.

Conventions
-----------
* Data directory: ``--data-dir`` flag, else ``$A3_DATA_DIR``, else ``./data`` (also the download cache).
* Results directory: ``--results-dir`` flag, else ``$A3_RESULTS_DIR``, else ``./results``.
  Each script writes under ``<results>/<problem>/``; the report reads from there.
* Bad input raises :class:`UserError`; :func:`cli` turns it into one ``error: ...`` line and exit code 2.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import math
import os
import random
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent


class UserError(Exception):
    """Bad input from the user (missing file, wrong shape, corrupt checkpoint...)."""
    exit_code = 2


class Interrupted(UserError):
    """Ctrl-C during training: reported in one line, exit code 130."""
    exit_code = 130


def cli(main: Callable[[list[str] | None], object]) -> Callable[[list[str] | None], object]:
    """Decorate a script's ``main(argv)`` so a :class:`UserError` exits with one clear line."""

    def wrapped(argv: list[str] | None = None):
        try:
            return main(argv)
        except UserError as e:
            print(f"error: {e}", file=sys.stderr)
            raise SystemExit(e.exit_code) from None
        except KeyboardInterrupt:
            print("error: interrupted", file=sys.stderr)
            raise SystemExit(130) from None

    wrapped.__doc__ = main.__doc__
    return wrapped


# ----------------------------------------------------------------------------- device, seeds, paths
def get_device(name: str | None = None) -> torch.device:
    """``name`` if given, else CUDA when present, else CPU; one clear error for a name that cannot be used."""
    if not name:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise UserError(f"unknown device {name!r} (use cpu or cuda)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {name}: no CUDA GPU is available here (use cpu, or leave --device out)")
    return device


def device_description(device: torch.device) -> str:
    """The GPU's name, or the CPU's model and core count, e.g. for run summaries."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        model = "CPU"
    return f"{model}, {os.cpu_count()} cores, {torch.get_num_threads()} threads"


def positive_int(text: str) -> int:
    """argparse type for counts that must be at least 1 (epochs, iterations, batch sizes, K, n)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """Resolve the data directory: explicit path > $A3_DATA_DIR > ./data (one clear error if it is a file)."""
    d = Path(path or os.environ.get("A3_DATA_DIR") or ROOT / "data").expanduser()
    if d.exists() and not d.is_dir():
        raise UserError(f"data directory {d} is a file, not a directory (--data-dir / $A3_DATA_DIR)")
    return d


def results_dir(*parts: str, base: str | os.PathLike | None = None) -> Path:
    """``<results>/<parts...>``, created; results root: explicit > $A3_RESULTS_DIR > ./results."""
    d = Path(base or os.environ.get("A3_RESULTS_DIR") or ROOT / "results").expanduser().joinpath(*parts)
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create the results directory {d}: {e.strerror} (--results-dir / "
                        "$A3_RESULTS_DIR)") from None
    return d


def common_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Flags every script shares."""
    parser.add_argument("--data-dir", default=None, help="data directory (default: $A3_DATA_DIR or ./data)")
    parser.add_argument("--results-dir", default=None, help="results root (default: $A3_RESULTS_DIR or ./results)")
    parser.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--quick", action="store_true",
                        help="minutes-long smoke run: reduced defaults (explicit flags still win)")
    return parser


def sized_flag(parser: argparse.ArgumentParser, flag: str, full, quick, help: str, convert=None) -> None:
    """A flag whose default is ``full``, or ``quick`` under --quick; a value given explicitly always wins
    (see :func:`fill_sized_defaults`)."""
    parser.add_argument(flag, type=convert or type(full), default=None,
                        help=f"{help} (default: {full}; with --quick: {quick})")
    parser.set_defaults(**{"_sized_" + flag.lstrip("-").replace("-", "_"): (full, quick)})


def fill_sized_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """Give every :func:`sized_flag` left unset its full or quick default."""
    for key, (full, quick) in [(k, v) for k, v in vars(args).items() if k.startswith("_sized_")]:
        name = key[len("_sized_"):]
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
        delattr(args, key)
    return args


# ----------------------------------------------------------------------------- files and downloads
def file_hash(path: str | os.PathLike, algo: str = "sha256") -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` then atomically rename the temporary file onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def download(url: str, dest: str | os.PathLike, *, sha256: str | None = None, md5: str | None = None) -> Path:
    """Download ``url`` to ``dest`` (atomically) and verify its checksum; reuse a verified cached copy."""
    dest = Path(dest)

    def ok(p: Path) -> bool:
        return (sha256 is None or file_hash(p, "sha256") == sha256) and (md5 is None or file_hash(p, "md5") == md5)

    if dest.exists() and ok(dest):
        return dest
    print(f"downloading {url} -> {dest}", file=sys.stderr)

    def fetch(tmp: str) -> None:
        try:
            with urllib.request.urlopen(url, timeout=60) as r, open(tmp, "wb") as f:
                shutil.copyfileobj(r, f)
        except OSError as e:
            raise UserError(f"could not download {url}: {e}") from None
        if not ok(Path(tmp)):
            raise UserError(f"checksum mismatch for {url}; the download is corrupt or the file changed")

    try:
        return atomic_write(dest, fetch)
    except OSError as e:
        raise UserError(f"cannot download {url} into {dest.parent}: {e.strerror} (use a writable --data-dir)") from None


# ----------------------------------------------------------------------------- checkpoints
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
    version, internal, gauss_next = random.getstate()
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


def fingerprint(array: np.ndarray) -> str:
    """A short SHA-256 of an array's shape, dtype and bytes: names a training set in checkpoints."""
    h = hashlib.sha256(f"{array.shape} {array.dtype}".encode())
    h.update(np.ascontiguousarray(array).data)
    return h.hexdigest()[:16]


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


def library_versions() -> dict:
    return {"torch": str(torch.__version__), "numpy": str(np.__version__)}


# ----------------------------------------------------------------------------- logging and plots
def write_csv(path: str | os.PathLike, rows: list[dict]) -> Path:
    """Atomically write a list of dicts (same keys) as CSV."""
    def write(tmp: str) -> None:
        with open(tmp, "w", newline="") as f:
            keys = list(dict.fromkeys(k for r in rows for k in r))
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            w.writerows(rows)

    return atomic_write(path, write)


def read_csv(path: str | os.PathLike) -> list[dict]:
    with open(path, newline="") as f:
        return [{k: float(v) if v not in ("", None) else math.nan for k, v in r.items()} for r in csv.DictReader(f)]


def plt():
    """matplotlib.pyplot with the project's style (headless Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    pyplot.rcParams.update({"figure.dpi": 110, "savefig.dpi": 150, "savefig.bbox": "tight", "font.size": 10,
                            "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
                            "axes.spines.right": False, "legend.frameon": False})
    return pyplot


def plot_curves(rows: list[dict], x: str, panels: list[list[str]], path: str | os.PathLike, title: str = "",
                ylabels: list[str] | None = None, labels: dict[str, str] | None = None,
                hlines: dict[int, tuple[float, str]] | None = None) -> Path:
    """One panel per list of column names, sharing the x column; saved to ``path``. Series logged only at
    checkpoints are drawn with markers; each panel's y range covers the data after the first 5% of x, so an
    initial transient does not flatten the rest. ``labels``: legend text per column; ``hlines``: panel index ->
    (y, label) of a dotted reference line (kept in range)."""
    pyplot = plt()
    fig, axes = pyplot.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.2), squeeze=False)
    styles = ["-", "--", ":", "-."]
    xs = [r[x] for r in rows]
    settled = min(xs) + 0.05 * (max(xs) - min(xs))
    for k, (ax, cols) in enumerate(zip(axes[0], panels)):
        late = []
        for c, style in zip(cols, styles):
            pts = [(r[x], r[c]) for r in rows if math.isfinite(r.get(c, math.nan))]  # sparse: checkpoints only
            sparse = len(pts) < len(rows) / 2
            ax.plot([p[0] for p in pts], [p[1] for p in pts], style, marker="o" if sparse else None, ms=3,
                    label=(labels or {}).get(c, c))
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
    fig.savefig(path)
    pyplot.close(fig)
    return Path(path)


def progress(iterable: Iterable | None = None, **kw):
    """A tqdm progress bar (to stderr)."""
    from tqdm.auto import tqdm

    kw.setdefault("dynamic_ncols", True)
    kw.setdefault("mininterval", 1.0)
    return tqdm(iterable, **kw)


# ----------------------------------------------------------------------------- training loop
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
            raise UserError(f"checkpoint {ckpt_path} does not match this model/config ({type(e).__name__}); "
                            "delete it or use another results directory") from None
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


# ----------------------------------------------------------------------------- report values
def tex_number(v: float, digits: int = 3) -> str:
    return f"{v:.{digits}f}" if math.isfinite(v) else r"\textit{n/a}"


def write_tex_values(path: str | os.PathLike, values: dict[str, str]) -> Path:
    r"""Write ``\newcommand{\Name}{value}`` lines for the report (names: letters only)."""
    for k in values:
        if not k.isalpha():
            raise ValueError(f"LaTeX macro names must be letters only: {k!r}")
    text = "".join(f"\\newcommand{{\\{k}}}{{{v}}}\n" for k, v in values.items())
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))
