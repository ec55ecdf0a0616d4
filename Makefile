# Two commands set everything up on a fresh machine with Python 3.11:
#   make demo   the whole cycle on the embedded defaults (no keys, no network, no database)
#   make test   the test suite
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo dev test test-online test-agreement test-research reliability bench lint db-stop clean browser

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

PORT ?= 3000

demo: install
	$(BIN)/trading-platform demo

dev: install
	$(BIN)/trading-platform dev --port $(PORT)

# Debian's headless Chromium for the browser test (playwright's own download needs a network
# we do not have); skipped with a message where it cannot be installed.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "chromium could not be installed: the browser test will be skipped"; \
	  else echo "no chromium and no root apt-get: the browser test will be skipped"; fi; }

test: install lint browser
	$(BIN)/python -m pytest -q

test-online: install
	$(BIN)/python -m pytest -q tests/online

test-agreement: install
	$(BIN)/python -m pytest -q -m agreement_long tests/integration/engine/test_backtest_agreement.py tests/integration/sim/test_venue_agreement.py

test-research: install
	$(BIN)/python -m pytest -q -m research

# Faults injected into an engine and an emulator run as separate processes; prints one
# table and fails unless no order is duplicated, no fill lost and ledger == broker.
reliability: install
	$(BIN)/python -m tests.reliability

bench: install
	$(BIN)/python -m benchmarks

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy trading_runtime orchestration

db-stop: install
	$(BIN)/trading-platform db stop

clean:
	rm -rf .data $(VENV)
