# schoolmgr: `make run` serves the demo school, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi.py

.PHONY: run test lint format system-deps browser-deps worker clean schema translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# WeasyPrint needs Pango; without HarfBuzz's subsetting library it is 5-6x slower.
system-deps:
	@bash scripts/install-system-deps.sh runtime

browser-deps:
	@bash scripts/install-system-deps.sh browser

run: system-deps $(VENV)/.runtime
	$(BIN)/python -m schoolmgr.catalogues compile
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo --if-empty
	$(BIN)/flask demo-logins
	$(BIN)/flask run --host 127.0.0.1 --port 5000

test: system-deps browser-deps $(VENV)/.dev
	$(BIN)/python -m schoolmgr.catalogues compile
	$(BIN)/pytest -n 2 --dist loadfile $(PYTEST_ARGS)

worker: $(VENV)/.runtime
	$(BIN)/rq worker --url "$${REDIS_URL:-redis://127.0.0.1:6379/0}" schoolmgr

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) instance/schoolmgr.sqlite3 .pytest_cache

# Rewrite the single initial migration from the models (only before the first deployment).
schema: $(VENV)/.dev
	bash scripts/regenerate-initial-migration.sh

# Extract user-facing strings and bring every language's catalogue in step (see README).
translations: $(VENV)/.dev
	$(BIN)/python -m schoolmgr.catalogues update
	$(BIN)/python -m schoolmgr.catalogues compile
