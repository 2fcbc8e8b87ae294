# Two commands: `make run` serves the demo, `make test` runs the whole suite. See README.md.
PYTHON_BOOT ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-dev lint format migrate demo worker clean

$(PY):
	$(PYTHON_BOOT) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip "setuptools>=78.1.1"

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PIP) install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: $(VENV)/.installed
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo --scale marseille --if-empty

# Web server and Celery worker (filesystem broker, beat embedded) together; Ctrl-C stops both.
run: demo
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py demo_logins
	@echo "Serveur : http://$(HOST):$(PORT)/  (Ctrl-C arrête le serveur et le worker)"
	$(PY) manage.py serve_demo $(HOST):$(PORT)

worker: $(VENV)/.installed
	$(VENV)/bin/celery -A subventions worker --beat --loglevel=INFO

# PostgreSQL and Redis when DATABASE_URL / CELERY_BROKER_URL are set; SQLite and an eager queue otherwise.
test: $(VENV)/.installed-dev
	$(VENV)/bin/pytest -n 2 $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf var/subventions.sqlite3 var/celery var/media var/static

# Backups: database (pg_dump, or SQLite's backup API) and var/media in one archive under var/backups/.
.PHONY: backup restore
backup: $(VENV)/.installed
	$(PY) manage.py sauvegarder

restore: $(VENV)/.installed
	$(PY) manage.py restaurer "$(FILE)"
