"""Configuration mistakes stop the program with one clear line, never a traceback or a silent default."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_"))}
    environment.update(env)
    return subprocess.run(  # noqa: S603 — our own interpreter and manage.py
        [sys.executable, *args], cwd=PROJECT, env=environment, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("url", ["garbage", "mysql://root@localhost/shipex", "postgres://", "postgres:/127.0.0.1/x"])
def test_unusable_database_url_gives_one_clear_line(url):
    result = run("manage.py", "check", DATABASE_URL=url)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert result.stderr.startswith("DATABASE_URL is not usable")


def test_database_url_never_echoes_its_password():
    result = run("manage.py", "check", DATABASE_URL="oracle://shipex:s3cret-pass@db.example/x")
    assert "s3cret-pass" not in result.stderr


def test_unreachable_database_gives_one_clear_line():
    # Port 1 on the loopback: nothing listens there, so the connection is refused at once.
    result = run("manage.py", "migrate", DATABASE_URL="postgres://postgres@127.0.0.1:1/shipex")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert result.stderr.startswith("Database error (postgresql, DATABASE_URL)")


def database_setting(name: str, **env: str) -> str:
    result = run("-c", f"from django.conf import settings; print(settings.DATABASES['default'][{name!r}])",
                 DJANGO_SETTINGS_MODULE="config.settings.local", **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_database_connections_persist_between_requests_unless_told_otherwise():
    # A new PostgreSQL connection per request costs more than the API's consents read itself.
    assert database_setting("CONN_MAX_AGE") == "60"
    assert database_setting("CONN_HEALTH_CHECKS") == "True"
    assert database_setting("CONN_MAX_AGE", DJANGO_CONN_MAX_AGE="0") == "0"


PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_ALLOWED_HOSTS": "privacy.shipex.uz",
    "AUDIT_SEAL_KEY": "seal-key-from-the-vault-" + "s" * 20,
    "DATABASE_URL": "postgres://shipex_app@db.example:5432/shipex",
}
STRONG_KEY = "k" * 20 + "-production-key-from-the-secret-store-" + "x" * 20


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "DJANGO_SECRET_KEY must be set"),
        ({"DJANGO_SECRET_KEY": "local-development-only-not-a-secret"}, "DJANGO_SECRET_KEY must be set"),
        ({"DJANGO_SECRET_KEY": "short"}, "DJANGO_SECRET_KEY must be set"),
        ({"DJANGO_SECRET_KEY": STRONG_KEY, "DJANGO_DEBUG": "true"}, "DJANGO_DEBUG must be off"),
        ({"DJANGO_SECRET_KEY": STRONG_KEY, "AUDIT_SEAL_KEY": ""}, "AUDIT_SEAL_KEY must be set"),
        ({"DJANGO_SECRET_KEY": STRONG_KEY, "AUDIT_SEAL_KEY": "local-development-only-audit-seal-key"},
         "AUDIT_SEAL_KEY must be set"),
        ({"DJANGO_SECRET_KEY": STRONG_KEY, "AUDIT_SEAL_KEY": STRONG_KEY}, "AUDIT_SEAL_KEY must be set"),
        # Keys that are long enough but not secret or not random (issue 10, item 7).
        ({"DJANGO_SECRET_KEY": "a" * 50}, "DJANGO_SECRET_KEY must be set"),
        ({"DJANGO_SECRET_KEY": "django-insecure-" + STRONG_KEY}, "DJANGO_SECRET_KEY must be set"),
        ({"DJANGO_SECRET_KEY": "abcdefgh" * 8}, "fewer than 10 different characters"),
        ({"DJANGO_SECRET_KEY": STRONG_KEY + " "}, "white space"),
        ({"DJANGO_SECRET_KEY": "local-development-only-not-a-secret" + "-padded-out-to-fifty-chars"},
         "development key"),
        ({"DJANGO_SECRET_KEY": STRONG_KEY, "AUDIT_SEAL_KEY": "x" * 32}, "AUDIT_SEAL_KEY must be set"),
        ({"DJANGO_SECRET_KEY": STRONG_KEY, "AUDIT_SEAL_KEY": "local-development-only-audit-seal-key "},
         "AUDIT_SEAL_KEY must be set"),
        ({"DJANGO_SECRET_KEY": STRONG_KEY, "AUDIT_SEAL_KEY": STRONG_KEY[:40]}, "contained in DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": STRONG_KEY, "AUDIT_SEAL_KEY": "extra-" + STRONG_KEY}, "contained in DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": STRONG_KEY, "AUDIT_SEAL_KEY": STRONG_KEY[10:50]}, "contained in DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": STRONG_KEY, "DJANGO_ALLOWED_HOSTS": "*"}, "DJANGO_ALLOWED_HOSTS must list"),
        ({"DJANGO_SECRET_KEY": STRONG_KEY, "DJANGO_ALLOWED_HOSTS": "privacy.shipex.uz,*"},
         "DJANGO_ALLOWED_HOSTS must list"),
        ({"DJANGO_SECRET_KEY": STRONG_KEY, "DJANGO_ALLOWED_HOSTS": ""}, "DJANGO_ALLOWED_HOSTS must list"),
    ],
)
def test_production_refuses_to_start_unsafely(env, message):
    result = run("-c", "import django; django.setup()", **{**PRODUCTION, **env})
    assert result.returncode != 0
    assert message in result.stderr
    # One clear line: the refusal is the last line, and the key itself is never echoed.
    assert result.stderr.strip().splitlines()[-1].startswith("django.core.exceptions.ImproperlyConfigured: ")
    for value in env.values():
        if len(value) >= 32:
            assert value.strip() not in result.stderr


def test_production_refuses_to_fall_back_to_sqlite_without_database_url():
    environment = {key: value for key, value in PRODUCTION.items() if key != "DATABASE_URL"}
    result = run("-c", "import django; django.setup()", **environment, DJANGO_SECRET_KEY=STRONG_KEY)
    assert result.returncode != 0
    assert "DATABASE_URL must be set in production" in result.stderr


def test_production_starts_with_a_real_key():
    result = run("-c", "import django; django.setup()", **PRODUCTION, DJANGO_SECRET_KEY=STRONG_KEY)
    assert result.returncode == 0, result.stderr


def test_check_deploy_with_production_settings_is_clean(tmp_path):
    result = run(
        "manage.py", "check", "--deploy", "--fail-level", "WARNING",
        **{**PRODUCTION, "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}"}, DJANGO_SECRET_KEY=STRONG_KEY,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


def test_production_requires_two_factor_and_secure_cookies(tmp_path):
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SHIPEX_TWO_FACTOR_REQUIRED, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_NAME, "
        "s.SESSION_COOKIE_AGE, s.AXES_FAILURE_LIMIT)"
    )
    result = run("-c", script, **PRODUCTION, DJANGO_SECRET_KEY=STRONG_KEY, SHIPEX_TWO_FACTOR_REQUIRED="false")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "__Host-sessionid", "1800", "5"]


# The test settings can lift the audit guards (for the test runner's flush): never on real data.


@pytest.mark.parametrize("command", ["flush", "check"])
@pytest.mark.parametrize("url", [
    # Nothing is there to harm (an unreachable port, a file that does not exist): the refusal comes first.
    f"sqlite:///{PROJECT / 'var' / 'not-a-test-database.sqlite3'}", "postgres://postgres@127.0.0.1:1/shipex_privacy",
])
def test_test_settings_refuse_a_database_that_is_not_a_test_database(command, url):
    result = run("manage.py", command, "--settings=config.settings.test", DATABASE_URL=url)
    assert result.returncode != 0
    assert "The test settings refuse database 'default'" in result.stderr.strip().splitlines()[-1]


def test_test_settings_start_against_a_test_database(tmp_path):
    result = run("manage.py", "check", "--settings=config.settings.test",
                 DATABASE_URL=f"sqlite:///{tmp_path / 'test_scratch.sqlite3'}")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("vendor", "name", "is_test"), [
    ("postgresql", "test_shipex_privacy", True),
    ("postgresql", "shipex_privacy", False),
    ("postgresql", "shipex_test_privacy", False),
    ("sqlite", ":memory:", True),
    ("sqlite", "file:memorydb_default?mode=memory&cache=shared", True),
    ("sqlite", str(PROJECT / "db.sqlite3"), False),
    ("sqlite", str(PROJECT / "test_db.sqlite3"), True),
])
def test_which_databases_are_test_databases(vendor, name, is_test):
    from shipex_privacy.core.testdb import is_test_database_name

    assert is_test_database_name(vendor, name) is is_test


@pytest.mark.django_db
def test_the_guarded_flush_refuses_a_connection_to_a_real_database(monkeypatch):
    """Under pytest the name check moves to the flush itself: it asks the database what it is."""
    from django.core.management import CommandError, call_command
    from django.db import connection

    from shipex_privacy.audit.guards import guarded_operations
    from shipex_privacy.subjects.models import DataSubject
    from tests.subjects.factories import DataSubjectFactory

    subject = DataSubjectFactory()
    monkeypatch.setattr("shipex_privacy.audit.management.commands.flush.is_test_connection", lambda c: False)
    with pytest.raises(CommandError, match="is not a test database"):
        call_command("flush", interactive=False, verbosity=0)
    assert DataSubject.objects.filter(pk=subject.pk).exists()
    assert DataSubject.history.model._meta.db_table in guarded_operations(connection)


@pytest.mark.django_db
def test_the_suite_runs_on_a_test_database():
    from django.db import connection

    from shipex_privacy.core.testdb import connected_database_name, is_test_connection

    assert is_test_connection(connection), connected_database_name(connection)
