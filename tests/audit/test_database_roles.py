"""The guards hold against the application itself: it runs as a role that owns nothing (PostgreSQL).

Issue 10, item 5: connected as the superuser that owned every table, the application could
switch every guard off (``SET session_replication_role = replica``, ``ALTER TABLE … DISABLE
TRIGGER``, ``DROP TRIGGER``). With split roles (DATABASE_OWNER_URL, as in CI) the suite runs as
the app role: each bypass is refused here, and ``check --deploy`` says when the roles are wrong.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from shipex_privacy.audit.guards import PG_FUNCTION, TRIGGER_PREFIX, install_append_only_guards
from shipex_privacy.core import dbroles
from shipex_privacy.core.checks import check_database_roles
from shipex_privacy.core.freeze import PG_PART_FUNCTION
from shipex_privacy.core.freeze import TRIGGER_PREFIX as FROZEN
from shipex_privacy.subjects.models import DataSubject
from tests.subjects.factories import DataSubjectFactory

HISTORY = DataSubject.history.model._meta.db_table
split_roles = pytest.mark.skipif(
    connection.vendor != "postgresql" or not dbroles.owner_configured(),
    reason="needs PostgreSQL with split roles (DATABASE_OWNER_URL), as CI runs it",
)
PROJECT = Path(__file__).resolve().parents[2]

BYPASSES = {
    "replication role": "SET session_replication_role = replica",
    "disable all triggers": f"ALTER TABLE {HISTORY} DISABLE TRIGGER ALL",
    "disable the guard": f"ALTER TABLE {HISTORY} DISABLE TRIGGER {TRIGGER_PREFIX}_row",
    "drop the guard": f"DROP TRIGGER {TRIGGER_PREFIX}_row ON {HISTORY}",
    "drop the truncate guard": f"DROP TRIGGER {TRIGGER_PREFIX}_truncate ON {HISTORY}",
    "replace the guard's function": (
        f"CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$"),
    "drop the guard's function": f"DROP FUNCTION {PG_FUNCTION}() CASCADE",
    "disable a freeze": f"ALTER TABLE disclosures_disclosure DISABLE TRIGGER {FROZEN}_update",
    "drop a part's freeze": f"DROP TRIGGER {FROZEN}_part ON disclosures_disclosedsubject",
    "drop the freeze function": f"DROP FUNCTION {PG_PART_FUNCTION}() CASCADE",
    "take the table over": f"ALTER TABLE {HISTORY} OWNER TO CURRENT_USER",
    "become the owner": "SET ROLE {owner}",
    "update history": f"UPDATE {HISTORY} SET full_name = 'Someone else'",
    "delete history": f"DELETE FROM {HISTORY}",
    "truncate history": f"TRUNCATE {HISTORY}",
}


def guard_state() -> list:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgname, t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname LIKE 'shipex_%%' ORDER BY 1, 2")
        return cursor.fetchall()


@split_roles
@pytest.mark.django_db
@pytest.mark.parametrize("bypass", list(BYPASSES))
def test_the_app_role_is_refused_every_bypass(bypass):
    subject = DataSubjectFactory(full_name="Karimov Aziz Rustam oʻgʻli")
    guards = guard_state()
    sql = BYPASSES[bypass].format(owner=connection.ops.quote_name(settings.DATABASE_OWNER["USER"]))
    with (pytest.raises(DatabaseError, match=r"permission denied|must be owner|append-only"),
          transaction.atomic(), connection.cursor() as cursor):
        cursor.execute(sql)
    with connection.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        assert cursor.fetchone()[0] == "origin"
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == dbroles.app_role()
    assert guard_state() == guards
    assert list(DataSubject.history.filter(id=subject.pk).values_list("full_name", flat=True)) == [
        "Karimov Aziz Rustam oʻgʻli"]


@split_roles
@pytest.mark.django_db
def test_the_app_role_is_no_superuser_owns_nothing_and_may_not_truncate():
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles "
                       "WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False, False, False)
        cursor.execute("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE n.nspname = 'public' AND pg_has_role(current_user, c.relowner, 'MEMBER')")
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT has_table_privilege(%s, 'TRUNCATE'), has_table_privilege(%s, 'INSERT')",
                       [HISTORY, HISTORY])
        assert cursor.fetchone() == (False, True)
    assert check_database_roles() == []


@split_roles
@pytest.mark.django_db(transaction=True)
def test_check_deploy_warns_for_the_owner_role_and_for_a_missing_guard():
    with dbroles.as_owner():
        assert [message.id for message in check_database_roles()] == ["core.W102"]
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER {TRIGGER_PREFIX}_truncate ON {HISTORY}")
    try:
        [warning] = check_database_roles()
        assert warning.id == "core.W103"
        assert f"{HISTORY}: TRUNCATE" in warning.msg
    finally:
        with dbroles.as_owner() as owner:
            install_append_only_guards(owner)
    assert check_database_roles() == []


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
def test_check_deploy_warns_when_the_app_runs_as_a_superuser():
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        superuser = cursor.fetchone()[0]
    assert ("core.W101" in [message.id for message in check_database_roles()]) is superuser


@split_roles
@pytest.mark.django_db
def test_manage_py_check_deploy_with_production_settings():
    """The real command, against the test database: clean as the app role, a warning as the owner."""
    database = connection.settings_dict
    owner = settings.DATABASE_OWNER

    def url(role: dict) -> str:
        password = f":{role['PASSWORD']}" if role.get("PASSWORD") else ""
        return f"postgres://{role['USER']}{password}@{role['HOST']}:{role['PORT'] or 5432}/{database['NAME']}"

    def check(database_url: str) -> subprocess.CompletedProcess:
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "AUDIT_"))}
        environment.update(
            DJANGO_SETTINGS_MODULE="config.settings.production", DJANGO_ALLOWED_HOSTS="privacy.shipex.uz",
            DJANGO_SECRET_KEY="k" * 20 + "-production-key-from-the-secret-store-" + "x" * 20,
            AUDIT_SEAL_KEY="seal-key-from-the-vault-" + "s" * 20, DATABASE_URL=database_url)
        return subprocess.run(  # our own interpreter and manage.py
            [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=PROJECT,
            env=environment, capture_output=True, text=True, timeout=120, check=False)

    as_app = check(url(database))
    assert as_app.returncode == 0, as_app.stdout + as_app.stderr
    as_owner = check(url(owner))
    assert as_owner.returncode != 0
    assert "core.W102" in as_owner.stdout + as_owner.stderr
