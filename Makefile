# salesforce-typed: every target works on a fresh machine with Python 3.11+, make and PyPI.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTHON := $(BIN)/python

# Per-org generation: make generate FROM=--from-describe DIR=path OUT=build/acme PACKAGE=acme_sf
FROM ?=
OUT ?=
PACKAGE ?=
OBJECTS ?=

.PHONY: install generate regen-check lint typecheck test check demo bench services browsers js clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

generate: $(STAMP)
ifeq ($(strip $(FROM)),)
	$(PYTHON) -m codegen.standard generated
	$(PYTHON) scripts/unasync.py
else
	$(BIN)/salesforce-typed generate $(FROM) --out $(OUT) --package $(PACKAGE) $(foreach o,$(OBJECTS),--objects '$(o)')
endif

regen-check: $(STAMP)
	$(PYTHON) scripts/regen_check.py
	$(PYTHON) scripts/unasync.py --check

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

services:
	@bash scripts/services.sh

# Chromium and its WebDriver for the headless-browser login test (Debian's packages). Without
# apt-get (not Debian/Ubuntu) it says so and the test skips naming the missing binaries.
browsers:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  if ! command -v apt-get >/dev/null; then \
	    echo "browsers: no apt-get; install chromium and chromedriver yourself" >&2; \
	  else \
	    if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	    $$SUDO apt-get update && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y chromium chromium-driver; \
	  fi

# The CometD JavaScript client the fidelity suite runs against the fake org, and Salesforce's
# Node Pub/Sub API client tests/pubsub runs (pinned by each folder's package-lock.json).
# Without node/npm it says so; the tests then fail naming what to install.
js:
	@if command -v node >/dev/null && command -v npm >/dev/null; then \
	  npm ci --prefix tests/fidelity/js --no-audit --no-fund && \
	  npm ci --prefix tests/pubsub/js --no-audit --no-fund; \
	else \
	  echo "js: node and npm not found; install Node.js 18+ for tests/fidelity/test_cometd_js.py" >&2; \
	fi

test: $(STAMP) services browsers js
	$(BIN)/pytest

check: lint typecheck test

demo: $(STAMP)
	$(PYTHON) -m salesforce_typed.demo

bench: $(STAMP)
	$(PYTHON) bench/codegen.py
	$(PYTHON) bench/query.py
	$(PYTHON) bench/bulk.py
	$(PYTHON) bench/listener.py

clean:
	rm -rf $(VENV) build .mypy_cache .pytest_cache .ruff_cache
