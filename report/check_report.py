"""Check a built report: the PDF exists, has one section per problem, includes every figure the README
lists, and shows no 'Missing result' placeholder.  python report/check_report.py report/report.pdf"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_figures() -> list[str]:
    """Figure paths (relative to the results dir) listed in the README's question table."""
    return sorted(set(re.findall(r"`((?:problem\d)/[\w/]+\.png)`", (ROOT / "README.md").read_text())))


def check(pdf: Path) -> list[str]:
    problems = []
    if not pdf.is_file() or pdf.stat().st_size == 0:
        return [f"{pdf} does not exist"]
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for n, title in ((1, "Problem 1"), (2, "Problem 2"), (3, "Problem 3")):
        if not re.search(rf"^(?:{n}\s+)?{title}:", text, re.M):
            problems.append(f"no section '{n} {title}'")
    if "Missing result" in text or re.search(r"\?\s*python", text):  # \missing and \val placeholders
        problems.append("the PDF shows missing-result placeholders")
    fls = pdf.with_suffix(".fls")
    inputs = fls.read_text() if fls.exists() else ""
    figures = readme_figures()
    if not figures:
        problems.append("README lists no figures")
    for fig in figures:
        if not re.search(rf"^INPUT .*{re.escape(fig)}$", inputs, re.M):
            problems.append(f"figure {fig} is not in the PDF")
    return problems


if __name__ == "__main__":
    pdf = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "report" / "report.pdf")
    found = check(pdf)
    for p in found:
        print(f"report check: {p}", file=sys.stderr)
    if found:
        raise SystemExit(1)
    print(f"report check: {pdf} OK ({len(readme_figures())} figures, 3 problem sections)")
