# Two commands on a fresh machine: `make publish` (the main job) and `make test` (the whole suite).
# Both create the local virtualenv from pyproject.toml first; nothing needs installing by hand.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: publish test test-fast check lint bench bytecode clean demo docs

# The packages are installed by uv (docs/dependencies.md): in parallel, their bytecode compiled on
# every core, about 11 s on a fresh machine where pip takes 21 s. The system's pip fetches uv into
# the virtualenv's own folder ($(VENV)/installer); where that cannot be done (no pip, no uv for this
# machine), pip installs the packages as before. pip's warning about running as root (CI machines
# run as root) is turned off by its own variable, which a pip too old to know it ignores.
UV := $(VENV)/installer/bin/uv
$(STAMP): pyproject.toml
	$(PYTHON) -m venv --without-pip $(VENV)
	if { test -x $(UV) || PIP_ROOT_USER_ACTION=ignore $(PYTHON) -m pip install -q --disable-pip-version-check --target $(VENV)/installer 'uv>=0.5'; } \
	   && $(UV) pip install -q --compile-bytecode --python $(BIN)/python -e '.[test]'; then :; \
	else $(PYTHON) -m venv $(VENV) && PIP_ROOT_USER_ACTION=ignore $(BIN)/python -m pip install -q -e '.[test]'; fi
	$(BIN)/python -m compileall -q tools
	touch $(STAMP)

# Byte-compile the package. The environment may set PYTHONDONTWRITEBYTECODE=1, and an editable
# install is not compiled by pip: every `manual` process would then recompile its modules
# (about 80 ms). Python still reads bytecode that exists and recompiles a module edited since.
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q tools

# The main job: check the working tree, then build the staff site of the version in force (site/)
# and its signed DOCX and PDF/A with SHA256SUMS (dist/), all read from the release commits in git.
# The page numbers and the PDF need LibreOffice: without it, manual publish stops before writing
# anything and prints the apt-get command that installs it (and the fonts and faketime).
publish: $(STAMP) bytecode
	$(BIN)/manual publish

check: $(STAMP) bytecode
	$(BIN)/manual check

lint: $(STAMP)
	$(BIN)/ruff check tools tests bench
	$(BIN)/mypy

# The whole suite on every core (pytest-xdist), with one worker more than there are cores: many
# tests wait on a browser, LibreOffice or git, and the extra worker uses the core meanwhile
# (2 cores: 276 s with 3 workers against 297 s with 2). Nothing is skipped under CI=true.
# mypy (one core for about 6 s on a fresh clone) runs beside pytest, which leaves about a quarter
# of the cores idle while its tests wait on browsers and LibreOffice; its report is printed after
# pytest's, and either failing fails the target.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
test: $(STAMP) bytecode
	$(BIN)/ruff check tools tests bench
	$(BIN)/manual check
	@report=$$(mktemp); $(BIN)/mypy > $$report 2>&1 & types=$$!; \
	echo "$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadgroup  (mypy beside it)"; \
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadgroup; tests=$$?; \
	wait $$types; typed=$$?; echo "$(BIN)/mypy"; cat $$report; rm -f $$report; \
	test $$tests -eq 0 && test $$typed -eq 0

# The edit loop: the in-process unit tests only (no git histories, no site build, no browser, no
# LibreOffice), in a few seconds. `make test` remains the gate. A folder of its own for temporary
# files: pytest would otherwise delete the oldest run it keeps, most often a whole `make test`
# run of some 20,000 files (about 10 s), at the start of this one.
test-fast: $(STAMP) bytecode
	PROPERTY_EXAMPLES=25 $(BIN)/pytest -q -m unit --basetemp="$${TMPDIR:-/tmp}/manualkit-test-fast-$$(id -u)"

bench: $(STAMP) bytecode
	$(BIN)/python bench/bench_check.py
	$(BIN)/python bench/bench_docx.py
	$(BIN)/python bench/bench_history.py
	$(BIN)/python bench/bench_site.py
	$(BIN)/python bench/bench_review.py
	$(BIN)/python bench/bench_remind.py
	$(BIN)/python bench/bench_startup.py

# The full demo history (the project's releases plus a returned request, training records, numbered
# copies and their recall, a revoked key), re-enacted from scratch with the documented commands and
# fresh keys that are deleted at the end: see "The demo history" in README.md.
demo: $(STAMP)
	rm -rf demo-home
	$(BIN)/python tools/demo/reenact.py demo-home

# The project's documentation (docs/) as a small site in docs-site/, every link between its pages
# checked (--strict); tests/test_docs_site.py builds it the same way.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict -f docs.mkdocs.yml

clean:
	rm -rf site dist docs-site .pytest_cache .mypy_cache .ruff_cache
