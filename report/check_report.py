"""Check a built report: the PDF exists, has one section per problem, reads the values file and
every figure that the main job's steps name (utils/pipeline.py), and shows no placeholder.
    python report/check_report.py report/report.pdf"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from utils.pipeline import steps

ROOT = Path(__file__).resolve().parents[1]


def expected_inputs() -> list[str]:
    """The values file (report/results/) and the figures (results directory) the report reads."""
    return ["results/values.tex", *(f for step in steps() for f in step.figures)]


def check(pdf: Path) -> list[str]:
    problems = []
    if not pdf.is_file() or pdf.stat().st_size == 0:
        return [f"{pdf} does not exist"]
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for n, title in ((1, "Problem 1"), (2, "Problem 2"), (3, "Problem 3")):
        if not re.search(rf"^(?:{n}\s+)?{title}:", text, re.M):
            problems.append(f"no section '{n} {title}'")
    # \missing and \val placeholders
    if "Missing result" in text or re.search(r"\?\s*python", text):
        problems.append("the PDF shows missing-result placeholders")
    fls = pdf.with_suffix(".fls")
    inputs = fls.read_text() if fls.exists() else ""
    for path in expected_inputs():
        if not re.search(rf"^INPUT .*{re.escape(path)}$", inputs, re.M):
            problems.append(f"{path} is not in the PDF")
    return problems


if __name__ == "__main__":
    pdf = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "report" / "report.pdf")
    found = check(pdf)
    for p in found:
        print(f"report check: {p}", file=sys.stderr)
    if found:
        raise SystemExit(1)
    print(
        f"report check: {pdf} OK ({len(expected_inputs())} inputs (values and figures), 3 problem "
        "sections)"
    )
