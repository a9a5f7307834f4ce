# The two commands a newcomer needs: `make demo` runs the product, `make test` installs and runs every test.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
NODE_PEERS := tests/node/node_modules/.package-lock.json
BENCH ?=

.PHONY: demo demo-check test lint bench chaos scale flow install clean

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,testwallet]'
	touch $@

$(NODE_PEERS): tests/node/package.json tests/node/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix tests/node --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the tests against the official Interledger packages will not run"; fi

install: $(INSTALLED)

demo: $(INSTALLED)
	$(BIN)/python -m marketplace.devstack

flow: $(INSTALLED)
	$(BIN)/python -m marketplace.flow

# Walks a running `make demo` in Chromium as a newcomer would, to a paid job (DEMO_URL, DEMO_WALLET_URL).
demo-check: $(INSTALLED)
	DEMO_URL=$${DEMO_URL:-http://127.0.0.1:8000} DEMO_WALLET_URL=$${DEMO_WALLET_URL:-http://127.0.0.1:4000} \
	  $(BIN)/python -m pytest -p no:cacheprovider -q tests/browser -k running_demo

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: $(INSTALLED) $(NODE_PEERS) lint
	$(BIN)/python -m pytest

bench: $(INSTALLED)
	$(BIN)/python bench/run.py $(BENCH)

# The chaos suite, full size (about 20 minutes): one JSON line per scenario; `make test` runs it small.
chaos: $(INSTALLED)
	$(BIN)/python -m tests.chaos

# Worker groups on separate network namespaces, one SIGKILLed midway, audited (root; about 2 minutes): one JSON line.
scale: $(INSTALLED)
	$(BIN)/python -m tests.scale

clean:
	rm -rf $(VENV) var tests/node/node_modules
