"""Settings for a developer's machine and `make demo`: SQLite unless DATABASE_URL says otherwise."""

from .base import *  # noqa: F403
from .base import BASE_DIR, DATABASES, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# The demo's receiver (run_demo_receiver) answers on plain http at 127.0.0.1.
WEBHOOKS_ALLOW_LOCAL_HTTP = env.bool("SHIPEX_WEBHOOKS_ALLOW_LOCAL_HTTP", default=DEBUG)
# A fixed key is fine on a developer's machine only; production.py refuses to start with it.
SECRET_KEY = env("DJANGO_SECRET_KEY", default="local-development-only-not-a-secret")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
# Same for the audit seal key (docs/audit.md); production.py refuses this value.
AUDIT_SEAL_KEY = env("AUDIT_SEAL_KEY", default="local-development-only-audit-seal-key")

# The demo skips two-factor sign-in, and its login page says so: demo logins are password only.
# production.py requires an authenticator code from every staff member.
SHIPEX_TWO_FACTOR_REQUIRED = False

# The demo's staff e-mail is written to files in var/mail/ (one per mail, gitignored) unless
# EMAIL_URL says otherwise (consolemail:// prints them instead).
if not env("EMAIL_URL", default=""):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = BASE_DIR / "var" / "mail"

# `make demo` writes to one SQLite file from three processes (the web server, the worker delivering
# the outbox, the demo receivers answering through the API). SQLite's default deferred transactions
# fail at once with "database is locked" when two of them upgrade to writing; immediate ones queue
# for the write lock instead (up to 30 s), and WAL lets pages be read while another process writes.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"})
