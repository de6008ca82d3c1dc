# The two commands: `make run` and `make test`. Everything else is for developers and CI.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Two locks, both with hashes: requirements.lock is what runs (the image installs it alone), and
# requirements-dev.lock is that plus the tests' and linters' tools, at the same versions.
LOCKS  := requirements.lock requirements-dev.lock
STAMP  := $(VENV)/.installed-$(shell cat $(LOCKS) pyproject.toml | cksum | cut -d' ' -f1)
UV     := uv==0.13.9
PG_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test
SERVICES := gateway intake compensation credit

.PHONY: install run test test-pg bench migrate revision lint fmt lock clean

$(STAMP):
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

## run: install, migrate, seed demo data and start everything on SQLite with local provider fakes
run: install
	$(BIN)/python -m demo.devstack

## test: install and run the whole suite on SQLite
test: install
	$(BIN)/python -m pytest -q

## test-pg: the same suite on PostgreSQL (TEST_DATABASE_URL, default the local server)
test-pg: install
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-$(PG_URL)} $(BIN)/python -m pytest -q

## bench: the benchmarks (PostgreSQL: BENCH_DATABASE_URL, default the local server); they print, never assert
bench: install
	$(BIN)/python -m bench.payouts --claims 1000
	$(BIN)/python -m bench.reports --complaints 1000000
	$(BIN)/python -m bench.credit --subjects 100000 --records 2000000
	$(BIN)/python -m bench.scheduler
	$(BIN)/python -m bench.submission
	$(BIN)/python -m bench.reads --sizes 10000,1000000

## migrate: apply every service's migrations to the databases its settings name
migrate: install
	@for s in $(SERVICES); do $(BIN)/alembic -c migrations/alembic.ini -n $$s upgrade head || exit 1; done

## revision: make SERVICE=intake MSG="what changed" revision
revision: install
	$(BIN)/alembic -c migrations/alembic.ini -n $(SERVICE) revision --autogenerate -m "$(MSG)"

## lint: ruff (check, format), mypy (strict), import contracts (import-linter) and declared dependencies (deptry)
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/deptry .

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## lock: re-resolve both locks from pyproject.toml, keeping the pins that still fit (UPGRADE=--upgrade: the newest
## releases); the runtime lock's pins bind the dev lock's
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv && .lockenv/bin/pip install -q '$(UV)'
	.lockenv/bin/uv pip compile pyproject.toml --quiet --generate-hashes --python-version 3.11 \
	  --annotation-style line --custom-compile-command 'make lock' $(UPGRADE) -o requirements.lock
	.lockenv/bin/uv pip compile pyproject.toml --quiet --extra dev --generate-hashes --python-version 3.11 \
	  --annotation-style line --custom-compile-command 'make lock' $(UPGRADE) -c requirements.lock -o requirements-dev.lock
	rm -rf .lockenv

clean:
	rm -rf $(VENV) var .pytest_cache
