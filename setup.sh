#!/usr/bin/env bash
# One-command set-up: a virtual environment .venv/ with the project installed in it (editable, with the test
# tools), LaTeX for the report, and svhn_classifier.pt at the top level. Works on an externally managed system
# Python (PEP 668): nothing is installed outside .venv/ except TeX Live (apt, only when run as root).
# Data are read from $A3_DATA_DIR (default ./data); on a machine with internet they are downloaded there.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q -e ".[test]"
if ! command -v latexmk >/dev/null || ! command -v pdftotext >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      texlive-latex-base texlive-latex-recommended texlive-fonts-recommended latexmk poppler-utils >/dev/null
  else
    echo "note: install latexmk, TeX Live (latex-recommended) and poppler-utils to build the report" >&2
  fi
fi
.venv/bin/python -c "from problem3.classifier import fetch_classifier; from utils.cli import cli; cli(lambda argv: print('classifier:', fetch_classifier()))()"
echo "set up: run the project with .venv/bin/python (for example .venv/bin/python reproduce.py)"
