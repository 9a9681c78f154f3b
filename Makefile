# risk: two commands for a newcomer. `make run` runs the whole pipeline, `make test` runs the tests.
SHELL := /bin/bash
export DVC_NO_ANALYTICS := 1
export MLFLOW_DISABLE_TELEMETRY := true
export UV_COMPILE_BYTECODE := 1
export GIT_PYTHON_REFRESH := quiet

TOOLS := .tools
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)

.PHONY: help env run test lint clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

$(TOOLS)/bin/uv:
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet 'uv==0.13.9'

.venv/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen
	@touch $@

env: .venv/.synced ## create the environment from the committed lock file (uv.lock)

run: env ## run the whole DVC pipeline on the embedded default book, then list the outputs
	$(UV) run dvc repro
	@$(UV) run python -m risk.outputs

test: env ## run the test suite (includes an end-to-end `dvc repro` on a small book)
	$(UV) run pytest

lint: env ## ruff lint and format check
	$(UV) run ruff check src tests
	$(UV) run ruff format --check src tests

clean: ## remove pipeline outputs (not the environment)
	rm -rf data/raw data/validated data/features data/scored models metrics plots reports mlflow.db
