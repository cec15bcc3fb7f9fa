"""Which databases count as test databases (config/settings/test.py and the guarded flush).

The test settings can lift the append-only guards (to let the test runner empty tables), so they
must never be pointed at real data. The rule, the same for both uses:

* PostgreSQL: the database's name starts with ``test_`` (pytest-django creates ``test_<NAME>``);
* SQLite: an in-memory database (the test runner's default), or a file whose name starts with
  ``test_``. Not "any file in the temporary directory": a checkout may live there too.

No model or app is imported here: settings import this module.
"""

from pathlib import Path

TEST_PREFIX = "test_"


def is_test_database_name(vendor: str, name) -> bool:
    name = str(name or "")
    if vendor == "sqlite":
        if name == ":memory:" or (name.startswith("file:") and "mode=memory" in name):
            return True
        return Path(name).name.startswith(TEST_PREFIX)
    return name.startswith(TEST_PREFIX)


def connected_database_name(connection) -> str:
    """The name of the database this connection really reaches, asked of the database itself."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_database()")
            return cursor.fetchone()[0]
    return str(connection.settings_dict["NAME"])


def is_test_connection(connection) -> bool:
    return is_test_database_name(connection.vendor, connected_database_name(connection))
