# Two commands do everything (each sets the project up first, once: .venv/, TeX Live, the classifier):
#   make         every experiment in order, then report/report.pdf, checked
#   make test    the test suite
# Also: make quick (the whole chain in a smoke profile, into results/quick/), make report (the PDF from the
# results there are), make figures (the README's figures from results/), make setup. Offline, point A3_DATA_DIR at the data files first (README, Data).
PYTHON := .venv/bin/python

all: .venv/setup.done
	$(PYTHON) reproduce.py

test: .venv/setup.done
	$(PYTHON) -m pytest -q tests

quick: .venv/setup.done
	$(PYTHON) reproduce.py --quick

report: .venv/setup.done
	$(PYTHON) reproduce.py --report-only

# The README's figures, from the full run its results table names (results/ by default).
figures: .venv/setup.done
	$(PYTHON) report/figures.py $(or $(RESULTS),results)

setup: .venv/setup.done

.venv/setup.done: setup.sh pyproject.toml
	bash setup.sh
	touch $@

.PHONY: all test quick report setup figures
