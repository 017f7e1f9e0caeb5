# The two front-door commands are `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 8000
SEED   ?= 42

# The MariaDB/MySQL driver compiles against the client library, so it is only
# installed when DATABASE_URL asks for it.
ifneq (,$(filter mysql% mariadb%,$(DATABASE_URL)))
DEPS_STAMP := $(VENV)/.deps-mysql
else
DEPS_STAMP := $(VENV)/.deps
endif

.PHONY: install run serve test test-e2e migrate load bench bench-scale lint lint-format clean

install: $(DEPS_STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.deps: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.deps-mysql: requirements.txt requirements-mysql.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-mysql.txt
	touch $@ $(VENV)/.deps

# The local demo runs with DEBUG on (a development SECRET_KEY, plain HTTP, static files served); DEBUG
# defaults to off everywhere else (README, Configuration). A DEBUG set by the caller wins.
migrate load run: export DEBUG ?= 1

migrate: install
	$(PY) manage.py migrate --noinput

# Import the sample data, classify, assign, verify: the main job. The sample leads are imported from
# var/demo/leads.csv, fixtures/leads.csv with its dates moved to today (see crm/demo.py).
load: migrate
	$(PY) manage.py make_demo_data --out var/demo
	$(PY) manage.py import_agents fixtures/agents.csv --rejects var/agents_rejects.csv
	$(PY) manage.py import_leads var/demo/leads.csv --rejects var/leads_rejects.csv
	$(PY) manage.py classify_leads
	$(PY) manage.py assign_leads --seed $(SEED)
	$(PY) manage.py verify_assignments

# The web server and one job worker beside it (TASKS_BACKEND: db_worker, or rqworker for rq), which also runs the SLA
# schedule (enforce_sla every SLA_CHECK_MINUTES); Ctrl-C stops both.
# The worker runs in its own process group (set -m), so that stopping it reaches its reloader's child too.
WORKER := $(if $(filter rq,$(strip $(TASKS_BACKEND))),rqworker --job-class django_tasks_rq.Job,db_worker)

run: load
	$(PY) manage.py ensure_admin
	$(PY) manage.py start_sla_schedule
	@echo "Serving the admin at http://$(HOST):$(PORT)/admin/, with a job worker (manage.py $(WORKER))"
	@set -m; $(PY) manage.py $(WORKER) & worker=$$!; set +m; \
	trap 'kill -TERM -$$worker 2>/dev/null; wait $$worker' EXIT; trap 'exit 130' INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT)

# Production (README, "Serving in production"): DEBUG off whatever the caller set, so SECRET_KEY and
# ALLOWED_HOSTS must be given; migrate, collect the static files (whitenoise serves them), then gunicorn with
# crm/gunicorn_conf.py (WEB_CONCURRENCY, GUNICORN_THREADS, GUNICORN_TIMEOUT). No job worker: run
# `manage.py db_worker` (or rqworker) as a process of its own, on this machine or another.
serve: export DEBUG := 0
serve: install
	@test -n "$$ALLOWED_HOSTS" || { echo "make serve: set ALLOWED_HOSTS to the host names the site answers to, comma-separated (ALLOWED_HOSTS=crm.example.com)." >&2; exit 2; }
	@$(PY) -c 'import crm.gunicorn_conf'  # gunicorn's own reading of WEB_CONCURRENCY fails with a traceback
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(VENV)/bin/gunicorn --config crm/gunicorn_conf.py --bind $(HOST):$(PORT)

test: install
	$(PY) -m pytest

# Only the browser tests; E2E_SCREENSHOTS=docs/screenshots refreshes the screenshots in README.md.
test-e2e: install
	$(PY) -m pytest -m e2e tests/e2e

# BENCH=intake,import runs only those (bench/bench_<name>.py) and updates only their sections.
bench: install
	$(PY) bench/run.py $(if $(BENCH),--only $(BENCH))

# Ten million leads on PostgreSQL (about 1.2 GB of CSV under bench/out); its section of docs/benchmarks.md only.
bench-scale: install
	$(PY) bench/run.py --only scale --sizes 10000000 --extra "--full --engines postgres"

# ruff's checks, ruff's format and the import contracts (pyproject.toml).
lint: install lint-format
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

lint-format: install
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm db.sqlite3-writers var .pytest_cache .hypothesis .ruff_cache .import_linter_cache
