# Two commands do all set-up on a fresh machine: `make run` and `make test` (see README.md).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
REDIS ?= redis://127.0.0.1:6379/0
# pytest-xdist processes for `make test`: most tests wait on real workers, servers and git, so two
# share 2 cores well (each gets its own test database, task queue and data directory). A test file
# stays on one process, so its module-scoped services start once. 0: one process, no xdist.
TEST_WORKERS ?= 2

.PHONY: run test venv lint bench services

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

venv: $(BIN)/.installed

run: venv
	VENV=$(VENV) bash scripts/run.sh

services:
	bash scripts/services.sh

test: venv services
	$(BIN)/ruff check .
	DATABASE_URL=$${DATABASE_URL:-$(PG_URL)} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(REDIS)} \
	  $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile $(ARGS)

lint: venv
	$(BIN)/ruff check .

bench: venv services
	$(BIN)/python -m bench.import_vs_clone
	$(BIN)/python -m bench.export_github
	$(BIN)/python -m bench.export_memory
	$(BIN)/python -m bench.export_scale
	$(BIN)/python -m bench.mirror_vs_clone
	$(BIN)/python -m bench.run_progress
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(REDIS)} $(BIN)/python -m bench.fleet --before
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(REDIS)} $(BIN)/python -m bench.fleet_workers
	$(BIN)/python -m bench.e2e_import --size 150 --rounds 3
	$(BIN)/python -m bench.e2e_import --size 1024 --rounds 2
	$(BIN)/python -m bench.webhook_intake
