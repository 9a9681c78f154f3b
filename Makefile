# risk: two commands for a newcomer. `make run` runs the whole pipeline, `make test` runs the tests.
SHELL := /bin/bash
export DVC_NO_ANALYTICS := 1
export MLFLOW_DISABLE_TELEMETRY := true
export UV_COMPILE_BYTECODE := 1
export GIT_PYTHON_REFRESH := quiet

TOOLS := .tools
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)

.PHONY: help env run test lint clean real-lendingclub real-taiwan

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-17s %s\n", $$1, $$2}'

$(TOOLS)/bin/uv:
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet 'uv==0.13.9'

.venv/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --all-extras
	@touch $@

env: .venv/.synced ## create the environment from the committed lock file (uv.lock)

run: env ## run the whole DVC pipeline on the embedded default book, then list the outputs
	$(UV) run dvc repro
	@$(UV) run python -m risk.outputs

TEST_WORKERS ?= auto
test: env ## run the test suite on every core (includes an end-to-end `dvc repro` on a small book)
	$(UV) run pytest -n $(TEST_WORKERS) --dist loadgroup

SHARED ?= ../shared/data
real-lendingclub: env ## the pipeline on LendingClub 2007-2011 (application-only) as a DVC experiment
	$(UV) run dvc exp run -n lendingclub -S data.source=ingest -S ingest.format=lendingclub \
	  -S ingest.path=$(SHARED)/lendingclub-2007-2011 \
	  -S 'validate.warn_only=[applications.employment_years.not_null]'

real-taiwan: env ## the pipeline on the UCI Taiwan credit-card data (application-only) as a DVC experiment
	$(UV) run dvc exp run -n taiwan -S data.source=ingest -S ingest.format=taiwan \
	  -S ingest.path=$(SHARED)/uci-taiwan-credit-card \
	  -S 'validate.warn_only=[applications.age.not_null,applications.age.in_range,applications.education.not_null]'

lint: env ## ruff lint and format check
	$(UV) run ruff check src tests
	$(UV) run ruff format --check src tests

clean: ## remove pipeline outputs (not the environment)
	rm -rf data/raw data/validated data/features data/scored models/fitted metrics plots reports mlflow.db dvc_plots
