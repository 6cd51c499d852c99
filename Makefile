# Everything a newcomer needs: `make demo` serves the API with demo data, `make test` runs
# the checks and the whole test suite. Both create the virtualenv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
LINT_PATHS := app workers tests bench migrations shopify_emulator

.PHONY: setup demo serve test test-sqlite lint typecheck pytest bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
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

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis omnistock.db*
