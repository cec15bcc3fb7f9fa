"""Settings for the test suite (pytest-django).

These settings can lift the append-only guards, so they refuse a database that is not a test
database (shipex_privacy/core/testdb.py says which are). Under pytest the configured name is the
base name and pytest-django connects to ``test_<NAME>`` (or SQLite in memory), so the name is
checked here only outside pytest; the guarded flush checks the database it is really connected to.
"""

import sys

from django.core.exceptions import ImproperlyConfigured

from shipex_privacy.core.testdb import is_test_database_name

from .base import *  # noqa: F403
from .base import DATABASES, env

if "pytest" not in sys.modules:
    for alias, database in DATABASES.items():
        vendor = "sqlite" if database["ENGINE"].endswith("sqlite3") else "postgresql"
        if not is_test_database_name(vendor, database["NAME"]):
            raise ImproperlyConfigured(
                f"The test settings refuse database {alias!r}: its name does not start with test_ "
                "(nor is it SQLite in memory): these settings can lift the audit guards."
            )

DEBUG = False
SECRET_KEY = "test-suite-only-not-a-secret"  # noqa: S105
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
AUDIT_SEAL_KEY = "test-suite-only-audit-seal-key"
# Fast hashing: the suite creates many staff accounts.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The test runner empties tables between live-server tests with DELETE or TRUNCATE, which the
# append-only guards refuse. Only here may the guarded `flush` command lift them for that moment;
# it puts them back straight after. production.py pins this to False.
AUDIT_GUARDS_REMOVABLE = True

LANGUAGE_CODE = env("DJANGO_LANGUAGE_CODE", default="uz")

# The suite signs in with the password alone (force_login, and the browser tests' login page), so
# two-factor is off here, as in the demo; tests/security turns it on with override_settings and
# proves that the admin then needs the authenticator code. The lock-out (django-axes) stays on:
# the suite never fails a password except in the tests that mean to.
SHIPEX_TWO_FACTOR_REQUIRED = False

# Tests send tasks to kombu's in-memory broker; tests/jobs start a real worker against Redis
# (SHIPEX_TEST_BROKER_URL) where they need one.
CELERY_BROKER_URL = "memory://"
CELERY_BROKER_TRANSPORT_OPTIONS = {}

# Mail stays in memory (django.core.mail.outbox); tests/notifications point the SMTP backend at a
# real SMTP server of their own on 127.0.0.1. Links in mails name the test server.
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SHIPEX_BASE_URL = "http://testserver"
