"""The main job (`make`): run the steps of utils/pipeline.py in order, skipping those whose outputs
are up to date, then build report/report.pdf and check it.

    python reproduce.py           # full results into ./results (README: times on a 2-core CPU)
    python reproduce.py --quick   # smoke profile into ./results/quick, minutes (`make quick`)

A step is up to date when all its outputs exist, are newer than the code it runs and than the
checkpoints of earlier steps it reads, and were made in the same profile. Problem 3 uses the
official SVHN files when present or downloadable, else svhn_partial.npz.
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

from problem3.hardware import pick_profile
from report.values import write_values
from utils.cli import UserError, cli
from utils.files import write_json, write_text
from utils.pipeline import SEEDS, SWEEP_ITERATIONS, SWEEP_SCALES, Step, steps
from utils.runtime import ROOT, device_description, get_device, results_dir

PROJECT_MODULES = (
    "problem1",
    "problem2",
    "problem3",
    "utils",
    "samplers",
    "score_fid",
    "density_estimation",
)


def module_file(name: str) -> Path | None:
    """The source file of a project module (``problem3.models``, ``utils.cli``...), None for
    anything else."""
    parts = name.split(".")
    if parts[0] not in PROJECT_MODULES:
        return None
    base = ROOT.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def step_code(script: str | Path) -> set[Path]:
    """The project files a script runs: itself and every project module it imports, followed through
    their own imports (package __init__ files included)."""
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
                todo += [
                    f
                    for f in (module_file(".".join(parts[:i])) for i in range(1, len(parts) + 1))
                    if f
                ]
    return seen


def newest_code(script: str) -> float:
    return max(f.stat().st_mtime for f in step_code(script))


def up_to_date(results: Path, step: Step, profile: str, recipe: str) -> bool:
    """All outputs and checkpoints exist, were made in this profile (and Problem 3 recipe), and are
    newer than the code and inputs."""
    stamp = results / ".profile"
    if not stamp.exists() or stamp.read_text() != profile:
        return False
    if step.recipe:
        summary = results / step.summary
        if not summary.exists() or json.loads(summary.read_text()).get("profile") != recipe:
            return False
    outputs, inputs = [results / o for o in step.outputs], [results / i for i in step.inputs]
    if not all(p.exists() for p in outputs + inputs + [results / c for c in step.checkpoints]):
        return False
    newest_source = max([newest_code(step.script)] + [p.stat().st_mtime for p in inputs])
    return min(p.stat().st_mtime for p in outputs) > newest_source


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


LATEX_SPECIAL = set("#%&~$\\{}^")


def build_report(results: Path, profile: str, report: Path = ROOT / "report") -> Path:
    """Write report/results/config.tex (where the results are, as an absolute path: LaTeX runs in
    report/) and values.tex (report/values.py), and compile report/report.pdf; the previous PDF is
    removed first, so a failed build leaves none that looks current."""
    results = results.resolve()
    if LATEX_SPECIAL & set(results.as_posix()):
        raise UserError(
            f"the results directory {results} contains a character LaTeX cannot take in a path "
            f"({' '.join(sorted(LATEX_SPECIAL & set(results.as_posix())))}): use another "
            "--results-dir "
            "/ $A3_RESULTS_DIR to build the report"
        )
    if not shutil.which("latexmk"):
        raise UserError(
            "latexmk not found: run setup.sh (it installs TeX Live) to build the report"
        )
    pdf = report / "report.pdf"
    pdf.unlink(missing_ok=True)
    write_text(
        report / "results" / "config.tex",
        f"\\def\\ResultsDir{{{results.as_posix()}/}}\n\\def\\Profile{{{profile}}}\n",
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
    for step in chosen:
        if not args.force and up_to_date(results, step, profile, recipe):
            print(f"[up to date] {step.name}")
            continue
        cmd = [
            sys.executable,
            str(ROOT / step.script),
            *(["--quick"] if args.quick else []),
            *(["--profile", recipe] if step.recipe else []),
            *step.args,
        ]
        print(f"[run] {step.name}: {' '.join(cmd[1:])}", flush=True)
        t0, before = time.time(), checkpoint_times(results, step)
        if subprocess.run(cmd, env=env).returncode:
            raise UserError(f"step failed: {step.name}")
        write_text(results / ".profile", profile)
        seconds = time.time() - t0
        # a finished training, resumed: nothing trained
        if before and before == checkpoint_times(results, step):
            print(
                f"[done] {step.name}: outputs rewritten from its finished checkpoint in "
                f"{seconds:.0f} s (the time "
                "kept is the training's; retrain with the script's --restart)",
                flush=True,
            )
            continue
        record_step_time(results, step.name, seconds, device)
        print(f"[done] {step.name} in {seconds:.0f} s", flush=True)
    print(
        f"all steps done in {(time.time() - t_start) / 60:.1f} min (profile {profile}, Problem 3 "
        f"recipe {recipe}, "
        f"device {device})",
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
    main()
