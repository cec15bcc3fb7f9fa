"""Acting as the database owner inside a test's own transaction, for tests that play the attacker.

With split roles (DATABASE_OWNER_URL, as in CI) the suite runs as the app role, which can lift no
guard; that is the point. Tests that tamper the way the owner could (drop a guard, rewrite a
history row) need the owner's rights *inside* the test's transaction, where their rows are. So
the suite's setup (tests/conftest.py) gives the test database — and only it, never a migration —
one SECURITY DEFINER function, owned by the owner, that the app role may call to run a statement
as the owner. It lives in ``test_…`` databases that pytest-django creates and drops; production
and the demo never have it.
"""

from django.db import connection

from shipex_privacy.core import dbroles

FUNCTION = "shipex_test_run_as_owner"


def install_owner_function() -> None:
    """Called as the owner by the suite's database setup, with split roles only."""
    if connection.vendor != "postgresql" or not dbroles.owner_configured():
        return
    app = connection.ops.quote_name(dbroles.app_role())
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE OR REPLACE FUNCTION {FUNCTION}(statement text) RETURNS void LANGUAGE plpgsql "
            "SECURITY DEFINER SET search_path = public AS $$ BEGIN EXECUTE statement; END $$"
        )
        cursor.execute(f"REVOKE ALL ON FUNCTION {FUNCTION}(text) FROM PUBLIC")
        cursor.execute(f"GRANT EXECUTE ON FUNCTION {FUNCTION}(text) TO {app}")


class _OwnerCursor:
    def __init__(self, cursor):
        self._cursor = cursor

    def execute(self, sql, params=None):
        statement = connection.ops.compose_sql(sql, params) if params else sql
        return self._cursor.execute(f"SELECT {FUNCTION}(%s)", [statement])

    def __getattr__(self, name):
        return getattr(self._cursor, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._cursor.close()


class _OwnerConnection:
    """The test's own connection, whose statements run as the owner."""

    def cursor(self):
        return _OwnerCursor(connection.cursor())

    def __getattr__(self, name):
        return getattr(connection, name)


def owner_connection():
    """Something to run statements on as the database's owner: the connection itself without split roles."""
    if connection.vendor == "postgresql" and dbroles.owner_configured():
        return _OwnerConnection()
    return connection
