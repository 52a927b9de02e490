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

DEFAULT_DEMO_TEST := tests/e2e/test_demo_default.py

test: lint  ## lint, the suite on SQLite, then the database tests on a throwaway PostgreSQL beside the default demo
	@echo "==> pytest on SQLite"
	$(UV) run pytest -m "not postgres" --ignore=$(DEFAULT_DEMO_TEST) $(PYTEST_ARGS)
	@echo "==> database tests on PostgreSQL (throwaway server on 127.0.0.1), beside them the default demo on SQLite"
	@# The default-demo guard is one long single-process run: it goes on the second core while
	@# the PostgreSQL pass runs, its output is printed when both are done.
	@log=$$(mktemp); \
	$(UV) run pytest -p no:cacheprovider $(DEFAULT_DEMO_TEST) >"$$log" 2>&1 & demo=$$!; \
	$(UV) run python -m tests.support.pg -- pytest -m "db or postgres" $(PYTEST_ARGS); pg=$$?; \
	wait $$demo; guard=$$?; \
	echo "==> the default demo on SQLite (run beside the PostgreSQL pass)"; cat "$$log"; rm -f "$$log"; \
	test $$pg -eq 0 && test $$guard -eq 0
	@echo "==> backends run: sqlite, postgresql"
