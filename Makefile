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

demo: $(STAMP)
	$(BIN)/pro-app demo

BROWSER_DEPS := tests/browser/node_modules/.package-lock.json

# axe-core for the accessibility checks; without npm the browser tests skip.
$(BROWSER_DEPS): tests/browser/package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix tests/browser --no-audit --no-fund --silent; \
	else echo "npm not found: browser accessibility checks will skip"; fi

test: $(STAMP) $(BROWSER_DEPS)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

benchmark: $(STAMP)
	$(BIN)/python benchmarks/tick.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
