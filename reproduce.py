"""The main job (`make`): run the steps of utils/pipeline.py in order, skipping those whose outputs
are up to date, then build report/report.pdf and check it.

    python reproduce.py           # full results into ./results (README: times on a 2-core CPU)
    python reproduce.py --quick   # smoke profile into ./results/quick, minutes (`make quick`)

A step is up to date when what its outputs were made from (its command line, the project's code,
its data files, the earlier steps' files it reads) and the outputs themselves are what they were
right after it last ran (fingerprints in <results>/steps.json). Problem 3 uses the
official SVHN files when present or downloadable, else svhn_partial.npz.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from report.values import write_values
from utils.cli import ROOT, UserError, cli, data_dir, get_device, results_dir
from utils.files import file_hash, write_json, write_text
from utils.pipeline import REFERENCE, SEEDS, SWEEP_ITERATIONS, SWEEP_SCALES, Step, steps
from utils.runtime import device_description, pick_profile

# The project's code: what every step's outputs are made from, besides its own inputs and data
CODE = ("problem1", "problem2", "problem3", "utils", "samplers.py", "density_estimation.py")


def digest(path: Path, _cache: dict = {}) -> str:
    """SHA-256 of a file's bytes (cached by path, size and modification time in this process)."""
    stat = path.stat()
    key = (path, stat.st_size, stat.st_mtime_ns)
    if key not in _cache:
        _cache[key] = file_hash(path)
    return _cache[key]


def stamp(results: Path, step: Step, cmd: list[str]) -> str | None:
    """A fingerprint of everything a step's outputs are made from and of the outputs themselves:
    its command line, the project's code, the data files it reads, the earlier steps' files it reads
    and its own outputs and checkpoints. None while any of those is missing. A step is up to date
    when this equals the fingerprint recorded right after it last ran."""
    code = [p for name in CODE for p in (sorted((ROOT / name).rglob("*.py")) or [ROOT / name])]
    data = sorted(p for pattern in step.data for p in data_dir().glob(pattern) if p.is_file())
    made = [*step.inputs, *step.outputs, *step.checkpoints]
    files = {
        **{str(p.relative_to(ROOT)): p for p in code},
        **{f"data/{p.name}": p for p in data},
        **{f"results/{name}": results / name for name in made},
    }
    if not all(p.is_file() for p in files.values()):
        return None
    parts = [" ".join(cmd[1:]), *(f"{name} {digest(p)}" for name, p in files.items())]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def up_to_date(recorded: dict, results: Path, step: Step, cmd: list[str]) -> bool:
    """Whether a step's fingerprint (:func:`stamp`) is the one recorded when it last ran."""
    known = recorded.get(step.name)
    return known is not None and known == stamp(results, step, cmd)


def read_stamps(path: Path) -> dict:
    """The fingerprints recorded by earlier runs (none if the file is missing or unreadable)."""
    try:
        return json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError):
        print(f"note: {path} is unreadable; every step reruns", file=sys.stderr)
        return {}


def run_step(cmd: list[str], env: dict) -> int:
    """Run a step's script; if this job is stopped (Ctrl-C, kill), the script is stopped as by
    Ctrl-C (it saves its checkpoint) before this job exits. Returns its exit code."""
    child = subprocess.Popen(cmd, env=env)
    try:
        return child.wait()
    except BaseException:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=120)
        except subprocess.TimeoutExpired:
            child.kill()
        raise


def checkpoint_times(results: Path, step: Step) -> list[int] | None:
    """Modification times (ns) of a step's checkpoints, None unless it has checkpoints and all
    exist."""
    paths = [results / c for c in step.checkpoints]
    return (
        [p.stat().st_mtime_ns for p in paths] if paths and all(p.exists() for p in paths) else None
    )


def record_step_time(results: Path, name: str, seconds: float, device: str) -> None:
    """Keep each step's latest wall time in <results>/step_times.json."""
    path = results / "step_times.json"
    times = json.loads(path.read_text()) if path.exists() else {}
    times[name] = {
        "seconds": round(seconds, 1),
        "device": device,
        "date": time.strftime("%Y-%m-%d"),
    }
    write_json(path, times)


def build_report(results: Path, profile: str, report: Path = ROOT / "report") -> Path:
    """Point report/results/run at the results (a symbolic link, so LaTeX sees a plain relative
    path whatever characters the real one holds), write report/results/config.tex and values.tex
    (report/values.py), and compile report/report.pdf; the previous PDF is removed first, so a
    failed build leaves none that looks current."""
    results = results.resolve()
    if not shutil.which("latexmk"):
        raise UserError(
            "latexmk not found: run setup.sh (it installs TeX Live) to build the report"
        )
    pdf = report / "report.pdf"
    pdf.unlink(missing_ok=True)
    link = report / "results" / "run"
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(results, target_is_directory=True)
    write_text(
        report / "results" / "config.tex",
        f"\\def\\ResultsDir{{results/run/}}\n\\def\\Profile{{{profile}}}\n",
    )
    write_values(results, report / "results" / "values.tex")  # every number the report shows
    cmd = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "report.tex"]
    r = subprocess.run(cmd, cwd=report, capture_output=True, text=True)
    if r.returncode:
        errors = [line for line in r.stdout.splitlines() if line.startswith("!")]
        raise UserError(
            f"LaTeX failed ({errors[0] if errors else 'see report/report.log'}); no report.pdf "
            "written"
        )
    return pdf


def plan(chosen: list[Step], stale: set[str]) -> list[Step]:
    """The steps that will run: the stale ones, and every later one that reads what they write."""
    planned, written = [], set()
    for step in chosen:
        if step.name in stale or written & set(step.inputs):
            planned.append(step)
            written |= {*step.outputs, *step.checkpoints}
    return planned


def calibrate(recipe: str) -> dict[str, float]:
    """Seconds of two small workloads on this machine, the best of three after a warm-up: a Problem
    2 training step (batch 32) and a WGAN-GP iteration of the Problem 3 recipe (its width, batch,
    critic steps and, where fast, bfloat16). Measured in the job's first seconds."""
    import torch

    from problem1.critics import gradient_penalty
    from problem2.layers import fast_layers
    from problem2.model import VAE, negative_elbo
    from problem3.common import autocast, fast_layout
    from problem3.models import LATENT, Critic, Generator
    from utils.runtime import fast_bf16

    device = get_device()
    torch.manual_seed(0)
    vae = fast_layers(VAE()).to(device)
    x = (torch.rand(32, 1, 28, 28, device=device) > 0.8).float()
    critic = fast_layout(Critic(width=32 if recipe == "cpu" else 64), device)
    generator = fast_layout(Generator(width=32 if recipe == "cpu" else 64), device)
    precision = "bf16" if fast_bf16(device) and recipe == "cpu" else "fp32"
    real = torch.rand(32 if recipe == "cpu" else 64, 3, 32, 32, device=device) * 2 - 1

    def vae_step():
        negative_elbo(vae, x)[0].mean().backward()

    def gan_iteration():
        for _ in range(5):  # critic steps, with the penalty's double backward
            with torch.no_grad(), autocast(device, precision):
                fake = generator(torch.randn(len(real), LATENT, device=device)).float()
            with autocast(device, precision):
                gap = critic(real).float().mean() - critic(fake).float().mean()
                (gradient_penalty(critic, real, fake, 10.0) - gap).backward()
        with autocast(device, precision):
            (-critic(generator(torch.randn(len(real), LATENT, device=device))).mean()).backward()

    def best(fn) -> float:
        fn()
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    return {"problem2_step": best(vae_step), "gan_iteration": best(gan_iteration)}


def estimate(to_run: list[Step], recipe: str) -> str:
    """About how long the steps take here: each one's time in the reference run
    (utils/pipeline.py, REFERENCE) scaled by how much faster or slower this machine runs the
    calibration workload of its problem (Problem 3's steps: the WGAN-GP iteration; the others: the
    Problem 2 step). A step the reference lacks is named, not guessed."""
    here = calibrate(recipe)
    ref = REFERENCE["calibration"]
    minutes, unknown = 0.0, []
    for step in to_run:
        seconds = REFERENCE["seconds"].get(step.name)
        if seconds is None:
            unknown.append(step.name)
            continue
        kind = "gan_iteration" if step.name.startswith("Problem 3") else "problem2_step"
        minutes += seconds * here[kind] / ref[kind] / 60
    ratio = ", ".join(f"{k.replace('_', ' ')} {here[k] / ref[k]:.2f}x" for k in ref)
    note = f"; not estimated: {', '.join(unknown)}" if unknown else ""
    return (
        f"about {minutes:.0f} min here (the reference run took its steps' times on "
        f"{REFERENCE['machine']}; this machine's calibration against it: {ratio}){note}"
    )


def stop(signum, frame):
    """SIGTERM: handled as Ctrl-C (the running step is stopped and saves its checkpoint)."""
    raise KeyboardInterrupt


@cli
def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--quick", action="store_true", help="smoke profile (minutes) into results/quick"
    )
    ap.add_argument(
        "--force",
        action="store_true",
        help="rerun every step (training resumes from its checkpoint; a script's --restart "
        "retrains)",
    )
    ap.add_argument(
        "--only",
        default=None,
        help="run only steps whose name contains this text, e.g. 'Problem 1' (default: all steps)",
    )
    ap.add_argument("--no-report", action="store_true", help="skip the LaTeX build")
    ap.add_argument(
        "--report-only",
        action="store_true",
        help="run no step: build and check the report from the results there are",
    )
    ap.add_argument(
        "--profile",
        default="auto",
        choices=["auto", "cpu", "gpu"],
        help="Problem 3 recipe (the settings tables of problem3/train_*.py); auto: gpu when "
        "CUDA is available, else cpu",
    )
    args = ap.parse_args(argv)
    if args.report_only and args.no_report:
        ap.error("--report-only --no-report would do nothing: give one of them")
    profile = "quick" if args.quick else "full"
    recipe = pick_profile(args.profile, get_device())
    seeds = SEEDS["quick" if args.quick else recipe]
    every_step = steps(seeds, SWEEP_SCALES, None if args.quick else SWEEP_ITERATIONS)
    chosen = (
        [] if args.report_only else [s for s in every_step if not args.only or args.only in s.name]
    )
    if not chosen and not args.report_only:
        raise UserError(
            f"--only {args.only!r} matches no step; steps: {'; '.join(s.name for s in every_step)}"
        )
    results = (results_dir("quick") if args.quick else results_dir()).resolve()
    env = {**os.environ, "A3_RESULTS_DIR": str(results), "PYTHONPATH": str(ROOT)}
    device = device_description(get_device())
    print(f"profile {profile}, Problem 3 recipe {recipe}, device {device}", flush=True)
    t_start = time.time()
    stamps_path = results / "steps.json"
    stamps = read_stamps(stamps_path)
    commands = {
        step.name: [
            sys.executable,
            str(ROOT / step.script),
            *(["--quick"] if args.quick else []),
            *(["--profile", recipe] if step.recipe else []),
            *step.args,
        ]
        for step in chosen
    }
    # the plan, and how long it takes here: printed before any step runs
    stale = {
        s.name for s in chosen if args.force or not up_to_date(stamps, results, s, commands[s.name])
    }
    to_run = plan(chosen, stale)
    print(f"to run: {len(to_run)} of {len(chosen)} steps", flush=True)
    if to_run and not args.quick:
        print(estimate(to_run, recipe), flush=True)
    for step in chosen:
        cmd = commands[step.name]
        # rechecked here: an earlier step may have rewritten what this one reads
        if not args.force and up_to_date(stamps, results, step, cmd):
            print(f"[up to date] {step.name}")
            continue
        print(f"[run] {step.name}: {' '.join(cmd[1:])}", flush=True)
        t0, before = time.time(), checkpoint_times(results, step)
        stamps.pop(step.name, None)
        if run_step(cmd, env):
            raise UserError(f"step failed: {step.name}")
        stamps[step.name] = stamp(results, step, cmd)
        write_json(stamps_path, stamps)
        seconds = time.time() - t0
        # a finished training, resumed: nothing trained
        if before and before == checkpoint_times(results, step):
            print(
                f"[done] {step.name}: outputs rewritten from its finished checkpoint in "
                f"{seconds:.0f} s (the time kept is the training's; retrain with the script's "
                "--restart)",
                flush=True,
            )
            continue
        record_step_time(results, step.name, seconds, device)
        print(f"[done] {step.name} in {seconds:.0f} s", flush=True)
    print(
        f"all steps done in {(time.time() - t_start) / 60:.1f} min (profile {profile}, Problem 3 "
        f"recipe {recipe}, device {device})",
        flush=True,
    )
    if not args.no_report:
        pdf = build_report(results, profile)
        print(f"report: {pdf}")
        if args.only:
            print(
                "note: --only ran part of the job; the report may show placeholders for the rest "
                "(not checked)"
            )
        elif subprocess.run(
            [sys.executable, str(ROOT / "report" / "check_report.py"), str(pdf)], env=env
        ).returncode:
            raise UserError(f"{pdf} is missing results (listed above)")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, stop)  # kill <pid>: stop the running step cleanly, then exit
    main()
