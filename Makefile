# gatepulse: `make demo` runs the whole thing, `make test` proves it.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PYTEST_ARGS ?=

.PHONY: demo test bootstrap lint

bootstrap:  ## install uv when missing, then the locked environment
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --locked --quiet

demo: bootstrap  ## migrate the embedded database and run the demo
	$(UV) run gatepulse demo

lint: bootstrap
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy core bot

test: lint  ## lint, then the suite on SQLite, then the database tests on a throwaway PostgreSQL
	@echo "==> pytest on SQLite"
	$(UV) run pytest -m "not postgres" $(PYTEST_ARGS)
	@echo "==> database tests on PostgreSQL (throwaway server on 127.0.0.1)"
	$(UV) run python -m tests.support.pg -- pytest -m "db or postgres" $(PYTEST_ARGS)
	@echo "==> backends run: sqlite, postgresql"
