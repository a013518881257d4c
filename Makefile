# Conduit — build, run and test. `make` (or `make help`) lists the targets.
#
# Only Python >= 3.11 and make are needed: every target installs what it uses into .venv.
# PostgreSQL is optional locally; set TEST_DATABASE_URL to test against it too.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Re-installs whenever pyproject.toml is newer than the last install.
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# `make bench BENCH_ARGS=--quick` for a smoke run; bench/README.md lists the options.
BENCH_ARGS ?= --scale
# The demo set `make run` adds to an empty database (every seeded account's password: password).
SEED_ARGS ?= --users 10 --articles 40 --comments 120 --favorites 80 --follows 30 --tags 12
# The Python folders ruff checks (those that exist).
LINT_PATHS := $(wildcard src tests scripts bench examples)

.PHONY: help venv install lock run migrate test lint format typecheck pytest coverage \
	migrate-lint conformance conformance-mysql fuzz topology-check bench bench-topology clean examples

help: ## List the targets
	@echo "Usage: make <target> [PYTHON=python3] [HOST=127.0.0.1] [PORT=8000] [PYTEST_ARGS=...]"
	@echo
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) \
		| awk 'BEGIN {FS = ":.*?## "}; {printf "  %-14s %s\n", $$1, $$2}'

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "error: Conduit needs Python >= 3.11; '$(PYTHON)' is $$($(PYTHON) -V 2>&1) (hint: make PYTHON=python3.11 ...)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# The lock: every dependency pinned with its hashes (requirements.txt: runtime; -dev: with the dev
# tools). `make lock` regenerates both from pyproject.toml; LOCK_ARGS=--upgrade moves every pin
# to the newest release, LOCK_ARGS="--upgrade-package NAME" one.
LOCK_ARGS ?=
UV_COMPILE := pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
	--quiet --custom-compile-command "make lock"

$(STAMP): pyproject.toml requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes \
		-r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@$(BIN)/python -m pip check >/dev/null || { $(BIN)/python -m pip check >&2; \
		echo "error: pyproject.toml needs what the lock does not pin (hint: make lock)" >&2; exit 1; }
	@touch $@

venv: $(STAMP) ## Create .venv and install Conduit with its dev tools, as pinned (idempotent)

install: $(STAMP) ## Same as venv

lock: | $(BIN)/python ## Re-pin every dependency (requirements*.txt) from pyproject.toml
	@test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv $(UV_COMPILE) -o requirements.txt $(LOCK_ARGS)
	$(BIN)/uv $(UV_COMPILE) --extra dev -o requirements-dev.txt $(LOCK_ARGS)

run: $(STAMP) ## Migrate, seed a demo set into an empty database, serve on 127.0.0.1:8000
	$(BIN)/conduit migrate upgrade
	$(BIN)/conduit db seed --if-empty $(SEED_ARGS)
	$(BIN)/conduit serve --host $(HOST) --port $(PORT) --no-migrate

migrate: $(STAMP) ## Apply pending migrations to DATABASE_URL (default: ./conduit.db)
	$(BIN)/conduit migrate upgrade

test: lint typecheck coverage migrate-lint examples deploy-check ## The whole suite (conformance, fuzz, topology-check too with TEST_DATABASE_URL; conformance-mysql with TEST_MYSQL_URL)
ifneq ($(strip $(TEST_DATABASE_URL)),)
	@$(MAKE) conformance
	@$(MAKE) fuzz
	@$(MAKE) topology-check
else
	@echo "conformance, fuzz, topology-check: skipped (need PostgreSQL: set TEST_DATABASE_URL)"
endif
ifneq ($(strip $(TEST_MYSQL_URL)),)
	@$(MAKE) conformance-mysql
endif

lint: $(STAMP) ## ruff check, ruff format --check, and the import-layer contracts
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/lint-imports --no-cache --no-logo

format: $(STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix $(LINT_PATHS)
	$(BIN)/ruff format $(LINT_PATHS)

typecheck: $(STAMP) ## mypy --strict on src and examples, and on tests (configured in pyproject.toml)
	$(BIN)/mypy src examples tests

pytest: $(STAMP) ## pytest under coverage: SQLite always, PostgreSQL when TEST_DATABASE_URL is set
	$(BIN)/coverage run -m pytest $(PYTEST_ARGS)

coverage: pytest ## The tests, then their coverage; fails under the floor (pyproject.toml)
ifneq ($(strip $(TEST_DATABASE_URL)),)
	$(BIN)/coverage report
else
	$(BIN)/coverage report --fail-under=0
	@echo "coverage: the floor applies with PostgreSQL (set TEST_DATABASE_URL): without it, its tests skip"
endif

migrate-lint: $(STAMP) ## Check the migrations for unsafe operations
	$(BIN)/conduit migrate lint

examples: $(STAMP) ## Run examples/ on SQLite, and on PostgreSQL too when TEST_DATABASE_URL is set
	$(BIN)/python examples/run_all.py

conformance: $(STAMP) ## The official RealWorld Postman collection against a live server (PostgreSQL, npm)
	scripts/conformance.sh

conformance-mysql: $(STAMP) ## The Postman collection against a live server on MySQL/MariaDB (TEST_MYSQL_URL)
	@test -n "$(TEST_MYSQL_URL)" || { echo "error: set TEST_MYSQL_URL (e.g. mysql://root@127.0.0.1:3306/test)" >&2; exit 2; }
	LIVE_SERVER_DATABASE_URL="$(TEST_MYSQL_URL)" scripts/conformance.sh

topology-check: $(STAMP) ## The collection through HAProxy and 3 instances, the API tests through PgBouncer
	scripts/topology_check.sh

.PHONY: deploy-check
deploy-check: $(STAMP) ## Lint the Dockerfiles (hadolint) and deploy/, validate compose.yaml (docker-compose)
	$(BIN)/hadolint Dockerfile deploy/pgbouncer/Dockerfile
	bash -n deploy/postgres/primary-init.sh deploy/postgres/replica-entrypoint.sh
	sh -n deploy/pgbouncer/entrypoint.sh
	@if command -v haproxy >/dev/null; then \
		echo "haproxy -c -f deploy/haproxy/haproxy.cfg"; haproxy -c -q -f deploy/haproxy/haproxy.cfg; \
	fi
	@# Placeholder secrets, and not the .env that holds Conduit's own settings.
	@if command -v docker-compose >/dev/null; then \
		echo "docker-compose --env-file deploy/compose-check.env config --quiet"; \
		docker-compose --env-file deploy/compose-check.env --file compose.yaml config --quiet; \
	elif [[ -n "$${CI:-}" ]]; then \
		echo "deploy-check: docker-compose not found (hint: apt-get install -y docker-compose)" >&2; exit 1; \
	else \
		echo "deploy-check: compose.yaml not validated (needs docker-compose)"; \
	fi

fuzz: $(STAMP) ## schemathesis, every check, on /openapi.json of a live server: anonymous, user, admin (PostgreSQL)
	scripts/fuzz.sh

bench: $(STAMP) ## Benchmark against a raw baseline, scale curve included; writes bench/results/ (PostgreSQL, wrk)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

bench-topology: $(STAMP) ## Throughput with 0-2 replicas, replica lag, failover timings on the topology; writes bench/results/ (PostgreSQL binaries, wrk)
	$(BIN)/python bench/topology_run.py

clean: ## Remove .venv, caches and build output (keeps conduit.db)
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov build dist
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
