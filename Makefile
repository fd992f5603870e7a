# groupcrm — the two commands of the README: `make run` and `make test`.
# Everything else here is what those two need on a fresh machine.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Test processes (pytest-xdist); each gets its own test database.
TEST_WORKERS ?= 2
BIN := $(VENV)/bin
VAR := $(CURDIR)/var
export GROUPCRM_VAR_DIR ?= $(VAR)

.PHONY: run test install assets setup lint fmt messages clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Front-end packages from the npm registry (lockfile), copied where Django finds them.
$(VAR)/vendor/.installed: node_modules/.installed
	rm -rf $(VAR)/vendor && mkdir -p $(VAR)/vendor/htmx $(VAR)/vendor/echarts
	cp -r node_modules/bootstrap/dist $(VAR)/vendor/bootstrap
	mkdir -p $(VAR)/vendor/bootstrap-icons && cp -r node_modules/bootstrap-icons/font $(VAR)/vendor/bootstrap-icons/font
	cp node_modules/htmx.org/dist/htmx.min.js $(VAR)/vendor/htmx/
	cp node_modules/echarts/dist/echarts.min.js $(VAR)/vendor/echarts/
	touch $@

install: $(VENV)/.installed
assets: $(VAR)/vendor/.installed

# Migrate the database, compile translations, collect static files.
setup: install assets
	$(BIN)/groupcrm setup

run: setup
	$(BIN)/groupcrm demo --if-empty
	$(BIN)/groupcrm run

test: install assets
	$(BIN)/groupcrm compilemessages_po
	bash scripts/test.sh -n $(TEST_WORKERS)

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/groupcrm makemigrations --check --dry-run

fmt:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Refresh the .po catalogues after changing strings (needs GNU gettext, dev only).
messages: install
	cd src/groupcrm && ../../$(BIN)/django-admin makemessages --settings=groupcrm.settings -l zh_Hans -l en --no-obsolete

clean:
	rm -rf $(VENV) node_modules $(VAR)/vendor $(VAR)/static
