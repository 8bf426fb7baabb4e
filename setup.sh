#!/usr/bin/env bash
# One-command set-up: Python packages, LaTeX (for the report), and svhn_classifier.pt at the top level.
# Data are read from $A3_DATA_DIR (default ./data); on a machine with internet they are downloaded there.
set -euo pipefail
cd "$(dirname "$0")"
python3 -m pip install -q -r requirements.txt
if ! command -v latexmk >/dev/null || ! command -v pdftotext >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      texlive-latex-base texlive-latex-recommended texlive-fonts-recommended latexmk poppler-utils >/dev/null
  else
    echo "note: install latexmk, TeX Live (latex-recommended) and poppler-utils to build the report" >&2
  fi
fi
python3 -c "import score_fid, utils; utils.cli(lambda argv: print('classifier:', score_fid.fetch_classifier()))()"
