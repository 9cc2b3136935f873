# Set-up is automatic: every target that needs Python depends on `install`, which builds .venv from uv.lock.
SHELL := /bin/bash
PY_PACKAGES := pipeline dagster_project fitbit_sandbox fitbit_sleep
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export FITBIT_SLEEP_HOME ?= $(CURDIR)/data
PYTEST_ARGS ?= -n 2

.PHONY: install test test-dates lint typecheck pytest sandbox demo dev ui-check bench clean

$(UV):
	python3 -m venv .tools && .tools/bin/pip install --quiet uv

$(VENV)/.installed: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --extra dev
	touch $@

install: $(VENV)/.installed

lint: install
	$(BIN)/ruff check $(PY_PACKAGES) tests bench
	$(BIN)/ruff format --check $(PY_PACKAGES) tests bench

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

# The date-sensitive tests with the pinned "today" moved over 60 days (month ends, DST changes, nights the sandbox
# skipped) and the machine's TZ rotated; SWEEP_ARGS="--dates 2026-11-01,2026-11-28" for chosen days.
test-dates: install
	$(BIN)/python -m tests.sweep_dates $(SWEEP_ARGS)

# The whole product on the built-in sandbox: login --auto, a CLI backfill of every partition through Dagster,
# the warehouse, the figures and the report, then a summary. Idempotent: a second run ends with the same tables.
demo: install
	$(BIN)/fitbit-sleep demo $(DEMO_ARGS)

sandbox: install
	$(BIN)/fitbit-sleep sandbox $(SANDBOX_ARGS)

# Installs dagster_project/dagster.yaml into $(DAGSTER_HOME), starts the sandbox (unless FITBIT_API_URL is set) and `dagster dev`
# (schedule and sensors RUNNING), prints the UI URL; Ctrl-C stops everything.
dev: install
	$(BIN)/python -m dagster_project.devserver

# `make dev`'s stack on fresh temp homes (UI_CHECK_ARGS=--repo-homes: the ones above), a UI-style backfill, then
# headless chromium checks the plot preview on the asset page and saves <data root>/ui/plot_scatter_efficiency.png.
ui-check: install
	$(BIN)/python -m dagster_project.ui_check $(UI_CHECK_ARGS)

bench: install
	@for f in bench/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache
