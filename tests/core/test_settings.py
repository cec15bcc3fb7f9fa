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


PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_ALLOWED_HOSTS": "privacy.shipex.uz",
    "AUDIT_SEAL_KEY": "seal-" + "s" * 40,
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
    ],
)
def test_production_refuses_to_start_unsafely(env, message):
    result = run("-c", "import django; django.setup()", **{**PRODUCTION, **env})
    assert result.returncode != 0
    assert message in result.stderr


def test_production_starts_with_a_real_key():
    result = run("-c", "import django; django.setup()", **PRODUCTION, DJANGO_SECRET_KEY=STRONG_KEY)
    assert result.returncode == 0, result.stderr


def test_check_deploy_with_production_settings_is_clean(tmp_path):
    result = run(
        "manage.py", "check", "--deploy", "--fail-level", "WARNING",
        **PRODUCTION, DJANGO_SECRET_KEY=STRONG_KEY, DATABASE_URL=f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
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
