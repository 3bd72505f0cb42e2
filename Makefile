# Two set-up commands: `make demo` and `make test`. Both install what they need.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

CHROMIUM := /usr/bin/chromium

.PHONY: demo test lint typecheck pytest bench bench-quick bench-tryton clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/erpsync demo

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# The browser tests drive Debian's Chromium (Playwright never downloads a browser of its own here).
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

pytest: $(STAMP) $(CHROMIUM)
	$(BIN)/pytest -n 2

# Benchmarks (bench/README.md): not part of `make test`; results go to bench/RESULTS.md.
bench: $(STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.tryton

bench-tryton: $(STAMP)
	$(BIN)/python -m bench.tryton

bench-quick: $(STAMP)
	$(BIN)/python -m bench.run --quick

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
