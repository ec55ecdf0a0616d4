# Two commands set everything up on a fresh machine with Python 3.11:
#   make demo   the whole cycle on the embedded defaults (no keys, no network, no database)
#   make test   the test suite
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo dev test test-online test-research bench lint db-stop clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

demo: install
	$(BIN)/python -m orchestration.cli demo

dev: install
	$(BIN)/python -m orchestration.cli dev

test: install lint
	$(BIN)/python -m pytest -q

test-online: install
	$(BIN)/python -m pytest -q tests/online

test-research: install
	$(BIN)/python -m pytest -q -m research

bench: install
	$(BIN)/python -m benchmarks

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy trading_runtime orchestration

db-stop: install
	$(BIN)/python -m trading_runtime.store stop-embedded

clean:
	rm -rf .data $(VENV)
