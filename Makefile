# pro-app: `make demo` serves the app with a seeded demo cohort; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint benchmark clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# `make demo PORT=5050` serves elsewhere; survey links in the dev outbox follow the port.
HOST ?= 127.0.0.1
PORT ?= 5000

demo: $(STAMP)
	$(BIN)/pro-app demo --host $(HOST) --port $(PORT)

BROWSER_DEPS := tests/browser/node_modules/.package-lock.json

# axe-core for the accessibility checks; without npm the browser tests skip.
$(BROWSER_DEPS): tests/browser/package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix tests/browser --no-audit --no-fund --silent; \
	else echo "npm not found: browser accessibility checks will skip"; fi

# Every test runs on a pinned clock (tests/conftest.py): by default 23:30 on a winter night in
# London. The clock guard runs the database tests once more on SQLite at 21:30 British Summer
# Time, so a test that depends on the pinned instant by accident fails here.
SUMMER_EVENING := 2026-07-15T20:30:00+00:00

test: $(STAMP) $(BROWSER_DEPS)
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	PRO_TEST_CLOCK=$(SUMMER_EVENING) $(BIN)/python -m pytest -q -p no:cacheprovider \
		-m "not browser" -k "sqlite"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

benchmark: $(STAMP)
	$(BIN)/python benchmarks/tick.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
