# The two commands a newcomer needs: `make demo` and `make test`. Both set up .venv themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo serve test lint check install messages clean

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(INSTALLED)

# The background worker with its scheduler embedded (--beat): schedules come from the database
# (django-celery-beat, editable in the admin). One such process per machine; see README "Production".
CELERY_WORKER := $(BIN)/celery -A config worker --beat --scheduler django_celery_beat.schedulers:DatabaseScheduler \
	--loglevel INFO

## Run the back office with demo data at http://127.0.0.1:8000/admin/ (SQLite unless DATABASE_URL is set),
## with the background worker and its scheduler beside it, on a broker that needs no server.
demo: export DJANGO_SETTINGS_MODULE = config.settings.local
demo: export CELERY_BROKER_URL ?= filesystem://
demo: $(INSTALLED)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py check --database default
	$(BIN)/python manage.py load_demo_data
	$(BIN)/python manage.py load_demo_consents
	$(BIN)/python manage.py load_demo_disclosures
	$(BIN)/python manage.py load_demo_requests
	$(BIN)/python manage.py load_demo_protection
	$(BIN)/python manage.py load_demo_retention
	$(BIN)/python manage.py load_demo_integrations
	@echo "== Background jobs: a Celery worker with its scheduler (beat), broker $$CELERY_BROKER_URL"
	@echo "   (filesystem:// keeps the queue as files under var/celery: no Redis needed). Log: var/worker.log"
	@echo "   Job runs and schedules: http://127.0.0.1:8000/admin/jobs/ · health: http://127.0.0.1:8000/healthz"
	@echo "== Demo receivers for the integrated systems on 127.0.0.1:8765 and up (log: var/receiver.log);"
	@echo "   staff e-mail is written to var/mail/ (one file per mail)."
	@mkdir -p var
	@# Ctrl-C stops the web server, and the trap stops the worker and the receivers with it.
	@$(CELERY_WORKER) --pool solo >var/worker.log 2>&1 & worker=$$!; \
	$(BIN)/python -u manage.py run_demo_receiver --all --back-office http://127.0.0.1:8000 >var/receiver.log 2>&1 & \
	receiver=$$!; \
	trap 'kill $$worker $$receiver 2>/dev/null; wait $$worker $$receiver 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python manage.py runserver 127.0.0.1:8000

## Run as production would on one machine: gunicorn (static files by whitenoise), the worker and the
## scheduler. Needs the production environment (README "Production"): DJANGO_SECRET_KEY, AUDIT_SEAL_KEY,
## DJANGO_ALLOWED_HOSTS, DATABASE_URL (+ DATABASE_OWNER_URL for migrate), CELERY_BROKER_URL (Redis).
serve: export DJANGO_SETTINGS_MODULE = config.settings.production
serve: $(INSTALLED)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py check --deploy --database default
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@echo "== gunicorn on $${GUNICORN_BIND:-127.0.0.1:8000} ($${WEB_CONCURRENCY:-3} workers) and a Celery worker with beat"
	@# Only migrate gets the owner role; the web and worker processes run as the app role.
	@env -u DATABASE_OWNER_URL $(CELERY_WORKER) & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	env -u DATABASE_OWNER_URL $(BIN)/gunicorn config.wsgi:application --bind "$${GUNICORN_BIND:-127.0.0.1:8000}" \
	    --workers "$${WEB_CONCURRENCY:-3}" --access-logfile - --forwarded-allow-ips "$${FORWARDED_ALLOW_IPS:-127.0.0.1}"

## Run the whole test suite (SQLite unless DATABASE_URL is set).
test: $(INSTALLED)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .

## Recompile translations after editing locale/*/LC_MESSAGES/django.po (needs GNU gettext).
## makemessages drops the hand-kept entries for Django's own gaps; merge them back (locale/README.md).
messages: $(INSTALLED)
	$(BIN)/python manage.py makemessages --locale uz --locale ru --ignore '.venv/*' --ignore 'tests/*' --no-obsolete
	for lang in uz ru; do msgcat --use-first locale/$$lang/LC_MESSAGES/django.po locale/$$lang/admin-gaps.po \
	    -o locale/$$lang/LC_MESSAGES/django.po; done
	$(BIN)/python manage.py compilemessages --ignore '.venv/*'

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm .pytest_cache .ruff_cache var/celery var/worker.log var/receiver.log
