# Two set-up commands: `make demo` and `make test`. Both install what they need.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

CHROMIUM := /usr/bin/chromium

.PHONY: demo test lint typecheck pytest node-check bench bench-quick bench-tryton bench-documents bench-live clean

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

# The example connector in examples/node-connector runs on Node.js 20 or later (standard library only); its tests
# (the conformance kit and a hub sync) are part of the suite and are never skipped.
node-check:
	@command -v node >/dev/null 2>&1 || { echo "make test needs Node.js 20 or later (node on PATH) for examples/node-connector" >&2; exit 1; }
	@node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || { echo "make test needs Node.js 20 or later; found $$(node --version)" >&2; exit 1; }

pytest: $(STAMP) $(CHROMIUM) node-check
	$(BIN)/pytest -n 2

# Benchmarks (bench/README.md): not part of `make test`; results go to bench/RESULTS.md.
bench: $(STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.load_http
	$(BIN)/python -m bench.tryton
	$(BIN)/python -m bench.documents
	$(BIN)/python -m bench.live

bench-tryton: $(STAMP)
	$(BIN)/python -m bench.tryton

bench-documents: $(STAMP)
	$(BIN)/python -m bench.documents
bench-live: $(STAMP)
	$(BIN)/python -m bench.live

bench-quick: $(STAMP)
	$(BIN)/python -m bench.run --quick

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
