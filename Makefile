# gatepulse: `make demo` runs the whole thing, `make test` proves it.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PYTEST_ARGS ?=

.PHONY: demo test bootstrap lint locales bench

bootstrap:  ## install uv when missing, then the locked environment
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --locked --quiet --compile-bytecode

demo: bootstrap  ## migrate the embedded database and run the demo
	$(UV) run gatepulse demo

bench: bootstrap  ## every benchmark with its defaults (about 50 minutes here), then one table of figures
	$(UV) run python -m bench $(BENCH_ARGS)

lint: bootstrap
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy core bot

LOCALES := core/locales
# core.languages.LANGUAGES as Babel names them (pt-BR -> pt_BR)
LOCALE_NAMES = $(shell $(UV) run python -c "from core.languages import LANGUAGES; print(' '.join(c.replace('-', '_') for c in LANGUAGES))")

locales: bootstrap  ## extract the bot's texts, update every catalog (a new language: a new one), compile them
	$(UV) run pybabel extract --no-location --sort-output -k NP_:1,2 --project gatepulse \
		--msgid-bugs-address "" --copyright-holder gatepulse -o $(LOCALES)/messages.pot.new bot pipelines
	@# a template that differs only in its creation date changes nothing (no churn in the catalogs)
	@if diff -q -I '^"POT-Creation-Date' $(LOCALES)/messages.pot $(LOCALES)/messages.pot.new >/dev/null 2>&1; \
	then rm $(LOCALES)/messages.pot.new; else mv $(LOCALES)/messages.pot.new $(LOCALES)/messages.pot; fi
	@for l in $(LOCALE_NAMES); do \
		$(UV) run pybabel update --init-missing --ignore-obsolete --no-fuzzy-matching \
			-l $$l -i $(LOCALES)/messages.pot -d $(LOCALES) || exit 1; \
	done
	$(UV) run pybabel compile --statistics -d $(LOCALES)

DEFAULT_DEMO_TEST := tests/e2e/test_demo_default.py

test: lint  ## lint, then on two cores: the database tests on a throwaway PostgreSQL beside the suite on SQLite and the default demo
	@# Two cores, three single-process runs: the PostgreSQL pass (the longest) goes on one core,
	@# the SQLite pass and then the default-demo guard on the other. The SQLite pass and the guard
	@# print as they go; the PostgreSQL pass's output is printed when all are done.
	@pglog=$$(mktemp); \
	$(UV) run python -m tests.support.pg -- pytest -p no:cacheprovider --durations=12 -m "(db or postgres) and not once" $(PYTEST_ARGS) >"$$pglog" 2>&1 & pgjob=$$!; \
	echo "==> pytest on SQLite (beside it: the database tests on PostgreSQL, a throwaway server on 127.0.0.1)"; \
	$(UV) run pytest --durations=12 -m "not postgres" --ignore=$(DEFAULT_DEMO_TEST) $(PYTEST_ARGS); sqlite=$$?; \
	echo "==> the default demo on SQLite"; \
	$(UV) run pytest -p no:cacheprovider $(DEFAULT_DEMO_TEST); guard=$$?; \
	wait $$pgjob; pg=$$?; \
	echo "==> database tests on PostgreSQL (run beside the two above)"; cat "$$pglog"; rm -f "$$pglog"; \
	test $$sqlite -eq 0 && test $$guard -eq 0 && test $$pg -eq 0
	@echo "==> backends run: sqlite, postgresql"
