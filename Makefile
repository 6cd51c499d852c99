# Everything a newcomer needs: `make demo` serves the API with demo data, `make test` runs
# the checks and the whole test suite. Both create the virtualenv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
LINT_PATHS := app workers tests bench migrations shopify_emulator

# The lock files pin every dependency, transitively and with hashes: requirements/runtime.lock
# is what the image installs (Dockerfile), requirements/dev.lock is runtime.lock's pins plus the
# dev extra, what `make setup` and CI install. The project itself goes on top with --no-deps.
RUNTIME_LOCK := requirements/runtime.lock
DEV_LOCK := requirements/dev.lock

.PHONY: setup demo serve test test-sqlite lint typecheck pytest bench lock audit clean

setup: $(VENV)/.installed

# pip in a new venv installs the pinned pip (dev.lock has it) along with the rest; the hashes
# make it refuse any file that is not the one locked.
$(VENV)/.installed: pyproject.toml $(DEV_LOCK) $(RUNTIME_LOCK)
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(DEV_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

demo: setup
	$(BIN)/omnistock demo

serve: setup
	$(BIN)/omnistock migrate && $(BIN)/omnistock serve

# Lint, formatting and the layering contracts of pyproject.toml ([tool.importlinter]).
lint: setup
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy

pytest: setup
	$(BIN)/pytest

# Lint, type-check, then every test. The database is TEST_DATABASE_URL when set
# (PostgreSQL in CI), otherwise a throwaway SQLite file.
test: lint typecheck pytest

# The suite once more on SQLite, whatever TEST_DATABASE_URL says.
test-sqlite: setup
	env -u TEST_DATABASE_URL -u DATABASE_URL $(BIN)/pytest -q

# Each benchmark prints a table and writes bench/results/<name>.json (needs PostgreSQL).
bench: setup
	$(BIN)/python -m bench.checkout_storm
	$(BIN)/python -m bench.availability
	$(BIN)/python -m bench.sync_burst
	$(BIN)/python -m bench.event_stream
	$(BIN)/python -m bench.open_loop
	$(BIN)/python -m bench.ledger_growth

# Regenerates both lock files from pyproject.toml with uv (pinned in dev.lock): a pin is kept
# while it still fits pyproject.toml, so only what a changed bound needs moves;
# `make lock UPGRADE=1` takes the newest versions allowed instead. Then `make setup test audit`.
# --universal: one file for Linux, macOS and Windows (markers say where a package applies).
LOCK_FLAGS := --quiet --universal --python-version 3.11 --generate-hashes --no-header \
	$(if $(UPGRADE),--upgrade)
define RUNTIME_HEADER
# requirements/runtime.lock: what the image installs (Dockerfile), every runtime dependency of
# pyproject.toml pinned transitively with hashes. Generated: do not edit, run `make lock`
# (`make lock UPGRADE=1` for the newest allowed versions). The project goes on with --no-deps.
endef
define DEV_HEADER
# requirements/dev.lock: what `make setup` and CI install, runtime.lock's pins plus the dev
# extra (pytest, ruff, mypy, pip-audit, uv, ...), with hashes. Generated: do not edit, run
# `make lock` (`make lock UPGRADE=1` for the newest allowed versions).
endef
export RUNTIME_HEADER DEV_HEADER
# $(call compile,LOCK FILE,HEADER VARIABLE,MORE UV ARGUMENTS): uv reads the current pins from
# the copy it overwrites; the file is replaced only when it changed, so an unchanged lock does
# not make the next `make` reinstall the venv.
define compile
	{ cp $(1) $(1).new 2>/dev/null || true; }
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) $(3) -o $(1).new
	{ echo "$$$(2)"; cat $(1).new; } > $(1).tmp && rm $(1).new
	if cmp -s $(1).tmp $(1); then rm $(1).tmp; else mv $(1).tmp $(1); echo "$(1) changed"; fi
endef
lock: setup
	$(call compile,$(RUNTIME_LOCK),RUNTIME_HEADER,)
	$(call compile,$(DEV_LOCK),DEV_HEADER,--extra dev -c $(RUNTIME_LOCK))

# Known vulnerabilities (PyPI's advisory data) of every pinned version that applies to this
# platform; dev.lock holds all of runtime.lock's pins. Reads the file only (hashed, so
# --disable-pip): no venv is built, nothing is installed, a few seconds. --strict: a version
# it cannot look up fails the audit rather than passing unchecked (.ci/run probes first and
# skips, saying why, where the advisory data is out of reach). Nothing is ignored today; to
# ignore one, add `--ignore-vuln ID` here with a comment giving the reason and the pin.
AUDIT_FLAGS := --progress-spinner off --disable-pip --strict
audit: setup
	$(BIN)/pip-audit $(AUDIT_FLAGS) -r $(DEV_LOCK)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis omnistock.db*
