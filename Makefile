# Two commands on a fresh machine: `make publish` (the main job) and `make test` (the whole suite).
# Both create the local virtualenv from pyproject.toml first; nothing needs installing by hand.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: publish test check lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

# The main job: check the working tree, then build the staff site of the version in force (site/)
# and its signed DOCX and PDF/A with SHA256SUMS (dist/), all read from the release commits in git.
# The page numbers and the PDF need LibreOffice: without it, manual publish stops before writing
# anything and prints the apt-get command that installs it (and the fonts and faketime).
publish: $(STAMP)
	$(BIN)/manual publish

check: $(STAMP)
	$(BIN)/manual check

lint: $(STAMP)
	$(BIN)/ruff check tools tests bench
	$(BIN)/mypy

test: $(STAMP)
	$(BIN)/ruff check tools tests bench
	$(BIN)/mypy
	$(BIN)/manual check
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python bench/bench_check.py
	$(BIN)/python bench/bench_docx.py
	$(BIN)/python bench/bench_history.py
	$(BIN)/python bench/bench_site.py

clean:
	rm -rf site dist .pytest_cache .mypy_cache .ruff_cache
