# make run [DATA=path/to/data.csv]   set up, load, train and serve on http://127.0.0.1:8000
# make test                          lint and run the whole test suite
# make test-postgres                 the suite again on a throwaway local PostgreSQL cluster (port 54329)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-postgres lint format setup bench bench-scale bench-load clean

$(STAMP): requirements.txt requirements/base.txt requirements/dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.txt \
		|| $(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

setup: $(STAMP)
	$(BIN)/python manage.py migrate --verbosity 0
	$(BIN)/python manage.py setup_periodic_tasks --verbosity 0
	$(BIN)/python manage.py ensure_admin

run: setup
	DATA="$(DATA)" HOST=$(HOST) PORT=$(PORT) ./bin/start

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

PG_DIR ?= /tmp/anomaly-pg
PG_PORT ?= 54329
test-postgres: $(STAMP)
	url=$$(.ci/postgres start $(PG_DIR) $(PG_PORT)) && trap '.ci/postgres stop $(PG_DIR)' EXIT && \
		DATABASE_URL=$$url $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

bench-scale: $(STAMP)
	$(BIN)/python bench/scale.py

bench-load: $(STAMP)
	$(BIN)/python bench/load.py

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm staticfiles var
