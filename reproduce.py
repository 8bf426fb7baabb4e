"""The main job: run every experiment in order (skipping those whose outputs are up to date), then build
report/report.pdf.

    python reproduce.py           # full results into ./results (see README for times on a 2-core CPU)
    python reproduce.py --quick   # smoke profile into ./results/quick, minutes

A step is up to date when all its outputs exist, are newer than the code it runs and than the checkpoints
of earlier steps it reads, and were made in the same profile. Problem 3 uses the official SVHN files when
present or downloadable, else svhn_partial.npz.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

from problem3.recipes import pick_profile
from utils.cli import UserError, cli
from utils.files import write_json, write_text
from utils.report import write_tex_values
from utils.runtime import ROOT, device_description, get_device, results_dir


class Step(NamedTuple):
    name: str
    script: str
    outputs: list[str]           # written by the step (relative to the results dir)
    inputs: list[str] = []       # files of earlier steps it reads: newer inputs make it stale
    checkpoints: list[str] = []  # must exist, else the step reruns (training resumes from them)
    recipe: bool = False         # a Problem 3 training step: takes --profile, reruns when its run.json differs


STEPS = [
    Step("Problem 1.3 sweep", "problem1/sweep.py", ["problem1/sweep.csv", "problem1/sweep.png",
                                                    "problem1/sweep_values.tex"]),
    Step("Problem 1.4 density", "density_estimation.py", ["problem1/density_estimate.png",
                                                          "problem1/density_discriminator.png",
                                                          "problem1/density_values.tex"]),
    Step("Problem 2 training", "problem2/train_vae.py", ["problem2/train_summary.json", "problem2/training_curves.png",
                                                         "problem2/train_values.tex"],
         checkpoints=["problem2/vae.pt"]),
    Step("Problem 2 evaluation", "problem2/evaluate.py", ["problem2/evaluation.json", "problem2/evaluation_table.tex",
                                                          "problem2/evaluation_values.tex", "problem2/is_vs_k.png"],
         inputs=["problem2/vae.pt"]),
    Step("Problem 3 VAE", "problem3/train_vae.py", ["problem3/vae/training_curves.png", "problem3/vae/run.json",
                                                    "problem3/vae/values.tex"],
         checkpoints=["problem3/vae/vae.pt"], recipe=True),
    Step("Problem 3 GAN", "problem3/train_gan.py", ["problem3/gan/training_curves.png", "problem3/gan/run.json",
                                                    "problem3/gan/values.tex"],
         checkpoints=["problem3/gan/gan.pt"], recipe=True),
    Step("Problem 3 qualitative", "problem3/qualitative.py", [f"problem3/{m}/{f}.png" for m in ("vae", "gan")
                                                              for f in ("samples", "perturbations", "interpolation")]
         + ["problem3/qualitative.json"], inputs=["problem3/vae/vae.pt", "problem3/gan/gan.pt"]),
    Step("Problem 3 FID", "problem3/fid.py", ["problem3/fid.json", "problem3/fid_values.tex",
                                              "problem3/fid_curves.png"],
         inputs=["problem3/vae/vae.pt", "problem3/gan/gan.pt"]),
]
PROJECT_MODULES = ("problem1", "problem2", "problem3", "utils", "samplers", "score_fid", "density_estimation")


def module_file(name: str) -> Path | None:
    """The source file of a project module (``problem3.models``, ``utils.cli``...), None for anything else."""
    parts = name.split(".")
    if parts[0] not in PROJECT_MODULES:
        return None
    base = ROOT.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def step_code(script: str | Path) -> set[Path]:
    """The project files a script runs: itself and every project module it imports, followed through their
    own imports (package __init__ files included)."""
    seen: set[Path] = set()
    todo = [ROOT / script]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                continue
            for name in names:
                parts = name.split(".")
                todo += [f for f in (module_file(".".join(parts[:i])) for i in range(1, len(parts) + 1)) if f]
    return seen


def newest_code(script: str) -> float:
    return max(f.stat().st_mtime for f in step_code(script))


def up_to_date(results: Path, step: Step, profile: str, recipe: str) -> bool:
    """All outputs and checkpoints exist, were made in this profile (and Problem 3 recipe), and are newer than
    the code and inputs."""
    stamp = results / ".profile"
    if not stamp.exists() or stamp.read_text() != profile:
        return False
    if step.recipe:
        run = results / step.outputs[1]
        if not run.exists() or json.loads(run.read_text()).get("profile") != recipe:
            return False
    outputs, inputs = [results / o for o in step.outputs], [results / i for i in step.inputs]
    if not all(p.exists() for p in outputs + inputs + [results / c for c in step.checkpoints]):
        return False
    newest_source = max([newest_code(step.script)] + [p.stat().st_mtime for p in inputs])
    return min(p.stat().st_mtime for p in outputs) > newest_source


def checkpoint_times(results: Path, step: Step) -> list[int] | None:
    """Modification times (ns) of a step's checkpoints, None unless it has checkpoints and all exist."""
    paths = [results / c for c in step.checkpoints]
    return [p.stat().st_mtime_ns for p in paths] if paths and all(p.exists() for p in paths) else None


def record_step_time(results: Path, name: str, seconds: float, device: str) -> None:
    """Keep each step's latest wall time in <results>/step_times.json, and their sum in job_values.tex."""
    path = results / "step_times.json"
    times = json.loads(path.read_text()) if path.exists() else {}
    times[name] = {"seconds": round(seconds, 1), "device": device, "date": time.strftime("%Y-%m-%d")}
    write_json(path, times)
    devices, dates = sorted({t["device"] for t in times.values()}), sorted({t["date"] for t in times.values()})
    write_tex_values(results / "job_values.tex", {
        "JobMinutes": f"{sum(t['seconds'] for t in times.values()) / 60:.0f}", "JobSteps": str(len(times)),
        "JobDevice": "; ".join(devices), "JobDates": dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}"})


def build_report(results: Path, profile: str) -> Path:
    """Write report/results/config.tex (where the results are) and compile report/report.pdf."""
    report = ROOT / "report"
    write_text(report / "results" / "config.tex",
               f"\\def\\ResultsDir{{{results.as_posix()}/}}\n\\def\\Profile{{{profile}}}\n")
    if not shutil.which("latexmk"):
        raise UserError("latexmk not found: run setup.sh (it installs TeX Live) to build the report")
    cmd = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "report.tex"]
    r = subprocess.run(cmd, cwd=report, capture_output=True, text=True)
    if r.returncode:
        print(r.stdout[-3000:], file=sys.stderr)
        raise UserError("LaTeX failed; see report/report.log")
    return report / "report.pdf"


@cli
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke profile (minutes) into results/quick")
    ap.add_argument("--force", action="store_true",
                    help="rerun every step (training resumes from its checkpoint; a script's --restart retrains)")
    ap.add_argument("--only", default=None,
                    help="run only steps whose name contains this text, e.g. 'Problem 1' (default: all steps)")
    ap.add_argument("--no-report", action="store_true", help="skip the LaTeX build")
    ap.add_argument("--profile", default="auto", choices=["auto", "cpu", "gpu"],
                    help="Problem 3 recipe (problem3/recipes.py); auto: gpu when CUDA is available, else cpu")
    args = ap.parse_args(argv)
    profile = "quick" if args.quick else "full"
    recipe = pick_profile(args.profile, get_device())
    steps = [s for s in STEPS if not args.only or args.only in s.name]
    if not steps:
        raise UserError(f"--only {args.only!r} matches no step; steps: {'; '.join(s.name for s in STEPS)}")
    results = results_dir("quick") if args.quick else results_dir()
    env = {**os.environ, "A3_RESULTS_DIR": str(results), "PYTHONPATH": str(ROOT)}
    device = device_description(get_device())
    print(f"profile {profile}, Problem 3 recipe {recipe}, device {device}", flush=True)
    t_start = time.time()
    for step in steps:
        if not args.force and up_to_date(results, step, profile, recipe):
            print(f"[up to date] {step.name}")
            continue
        cmd = [sys.executable, str(ROOT / step.script), *(["--quick"] if args.quick else []),
               *(["--profile", recipe] if step.recipe else [])]
        print(f"[run] {step.name}: {' '.join(cmd[1:])}", flush=True)
        t0, before = time.time(), checkpoint_times(results, step)
        if subprocess.run(cmd, env=env).returncode:
            raise UserError(f"step failed: {step.name}")
        write_text(results / ".profile", profile)
        seconds = time.time() - t0
        if before and before == checkpoint_times(results, step):  # a finished training, resumed: nothing trained
            print(f"[done] {step.name}: outputs rewritten from its finished checkpoint in {seconds:.0f} s (the time "
                  "kept is the training's; retrain with the script's --restart)", flush=True)
            continue
        record_step_time(results, step.name, seconds, device)
        print(f"[done] {step.name} in {seconds:.0f} s", flush=True)
    print(f"all steps done in {(time.time() - t_start) / 60:.1f} min (profile {profile}, Problem 3 recipe {recipe}, "
          f"device {device})", flush=True)
    if not args.no_report:
        pdf = build_report(results, profile)
        print(f"report: {pdf}")
        if args.only:
            print("note: --only ran part of the job; the report may show placeholders for the rest (not checked)")
        elif subprocess.run([sys.executable, str(ROOT / "report" / "check_report.py"), str(pdf)]).returncode:
            raise UserError(f"{pdf} is missing results (listed above)")


if __name__ == "__main__":
    main()
