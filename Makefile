# The front door. `make book` builds the report (HTML + PDF); `make test` runs the tests.
# Both set up what they need: a .venv from the pinned lock, and Debian packages (TeX Live,
# poppler-utils, chromium) through scripts/system-deps.sh.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CLUSTER_STAMP := $(VENV)/.installed-cluster

.PHONY: book html test venv system-deps tex lint clean help strip-outputs

help:
	@echo "make book   - build the whole report: _build/html/index.html and _build/latex/book.pdf"
	@echo "make html   - build the HTML only"
	@echo "make test   - run the test suite (builds the book first if needed)"
	@echo "make lint   - ruff"
	@echo "make strip-outputs - remove outputs from notebooks/*.ipynb (after a JupyterLab save)"
	@echo "make clean  - remove generated files (executed notebooks, _build, state)"

$(STAMP): requirements.txt constraints.txt pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 not found: install python3.11 and python3.11-venv"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

# The optional Dask extra (`mscfm sweep --scheduler`): the tests exercise it, the book does not need it.
$(CLUSTER_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[cluster]'
	@touch $@

venv: $(STAMP)

tex:
	@bash scripts/system-deps.sh tex

system-deps:
	@bash scripts/system-deps.sh all

book: $(STAMP) tex
	$(BIN)/mscfm build

html: $(STAMP)
	$(BIN)/mscfm build --no-pdf

test: $(STAMP) $(CLUSTER_STAMP) system-deps
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts notebooks

# A notebook saved from JupyterLab carries outputs; the copies in git carry none (tests check).
strip-outputs: $(STAMP)
	$(BIN)/jupyter nbconvert --clear-output --inplace --log-level=WARN notebooks/*.ipynb

clean:
	rm -rf _build book/_executed .mscfm
