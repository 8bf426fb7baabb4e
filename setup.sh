#!/usr/bin/env bash
# Set-up, run by `make` and `make test`: a virtual environment .venv/ with the project installed in it (editable,
# with the test tools), LaTeX for the report, and svhn_classifier.pt at the top level. Works on an externally
# managed system Python (PEP 668): nothing is installed outside .venv/ but Debian's python3-venv and TeX Live
# (apt, only when run as root and missing). Data are read from $A3_DATA_DIR (default ./data); on a machine with
# internet they are downloaded there.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ] && ! "$PYTHON" -m venv .venv; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then  # Debian ships venv apart from python3
    rm -rf .venv
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    "$PYTHON" -m venv .venv
  else
    echo "error: $PYTHON -m venv failed; install python3-venv (Debian, Ubuntu) and run again" >&2
    exit 1
  fi
fi
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
.venv/bin/python -c "from problem3.data import fetch_classifier; from utils.cli import cli; cli(lambda argv: print('classifier:', fetch_classifier()))()"
echo "set up: make (the main job), make test (the tests); scripts run as .venv/bin/python problem1/sweep.py ..."
