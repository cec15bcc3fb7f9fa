# The two commands a newcomer needs: `make demo` and `make test`. Both set up .venv themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo test lint check install messages clean

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(INSTALLED)

## Run the back office with demo data at http://127.0.0.1:8000/admin/ (SQLite unless DATABASE_URL is set).
demo: $(INSTALLED)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py check --database default
	$(BIN)/python manage.py load_demo_data
	$(BIN)/python manage.py load_demo_consents
	$(BIN)/python manage.py load_demo_disclosures
	$(BIN)/python manage.py load_demo_requests
	$(BIN)/python manage.py load_demo_protection
	$(BIN)/python manage.py runserver 127.0.0.1:8000

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
	rm -rf $(VENV) db.sqlite3 .pytest_cache .ruff_cache
