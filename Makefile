# Set-up is automatic: every target that needs Python depends on `install`, which builds .venv from uv.lock.
SHELL := /bin/bash
PY_PACKAGES := pipeline dagster_project fitbit_sandbox fitbit_sleep
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
BIN := $(VENV)/bin
export FITBIT_SLEEP_HOME ?= $(CURDIR)/data
PYTEST_ARGS ?= -n 2

.PHONY: install browser test test-dates lint typecheck pytest sandbox demo dev ui-check bench clean

$(UV):
	python3 -m venv .tools && .tools/bin/pip install --quiet uv

$(VENV)/.installed: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --extra dev --compile-bytecode
	touch $@

install: $(VENV)/.installed

lint: install
	$(BIN)/ruff check $(PY_PACKAGES) tests bench
	$(BIN)/ruff format --check $(PY_PACKAGES) tests bench

typecheck: install
	$(BIN)/mypy

# A system package, installed by this named step only (never by the tests): Debian's chromium, for the headless
# browser tests and `make ui-check`. Says what it does; needs root or sudo; does nothing when chromium is there.
browser:
	@if command -v chromium >/dev/null 2>&1; then \
	  echo "browser: chromium is installed ($$(command -v chromium))"; \
	else \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else \
	    echo "browser: cannot install chromium: not root and no sudo; install Debian's chromium package" >&2; exit 1; fi; \
	  echo "browser: installing Debian package chromium (system package) with $${SUDO:+$$SUDO }apt-get ..."; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null \
	  || { echo "browser: apt-get update, then install again ..."; $$SUDO apt-get update -q >/dev/null \
	       && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null; } \
	  || { echo "browser: apt-get could not install chromium (see above)" >&2; exit 1; }; \
	  echo "browser: installed $$(command -v chromium)"; \
	fi

# FITBIT_SLEEP_REQUIRE_BROWSER=1: a browser test fails (not skips) if chromium is missing, since `browser` ran.
pytest: install browser
	FITBIT_SLEEP_REQUIRE_BROWSER=1 $(BIN)/pytest $(PYTEST_ARGS)

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

# Installs dagster_project/dagster.yaml into $DAGSTER_HOME (default $(FITBIT_SLEEP_HOME)/dagster_home), starts the data
# root's sandbox (unless FITBIT_API_URL is set) and `dagster dev` (schedule and sensors RUNNING), prints the UI URL;
# Ctrl-C stops everything. Ports: DAGSTER_PORT (3000) and FITBIT_SANDBOX_PORT (8765); a taken one exits 2 at once.
dev: install
	$(BIN)/python -m dagster_project.devserver

# `make dev`'s stack on fresh temp homes (UI_CHECK_ARGS=--repo-homes: the ones above; --keep keeps the temp homes),
# a UI-style backfill, then headless chromium checks that a plot's preview is legible on its asset page and that the
# report's page shows its key numbers; screenshots in .ui-check/.
ui-check: install browser
	$(BIN)/python -m dagster_project.ui_check $(UI_CHECK_ARGS)

bench: install
	@for f in bench/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache
