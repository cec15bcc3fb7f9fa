"""Two database roles on PostgreSQL: the app role the back office runs as, and the owner role.

The app role owns nothing, so it cannot lift the guards (``ALTER TABLE … DISABLE TRIGGER``,
``DROP TRIGGER``, ``SET session_replication_role``); only migrations run as the owner
(``DATABASE_OWNER_URL``), and so does whatever must change the schema or the guards: the guards
installed after migrate, and the test runner's guarded flush. docs/database-roles.md has the SQL.
Without DATABASE_OWNER_URL everything here is a no-op: one role serves both.
"""

from contextlib import contextmanager

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

_app_credentials: dict[str, dict] = {}


def owner_configured(alias: str = DEFAULT_DB_ALIAS) -> bool:
    return alias == DEFAULT_DB_ALIAS and bool(getattr(settings, "DATABASE_OWNER", None))


def running_as_owner(alias: str = DEFAULT_DB_ALIAS) -> bool:
    return alias in _app_credentials


def use_owner_credentials(alias: str = DEFAULT_DB_ALIAS) -> None:
    """Reconnect ``alias`` as the owner role (from the next query on)."""
    if not owner_configured(alias) or running_as_owner(alias):
        return
    connection = connections[alias]
    if connection.in_atomic_block:
        raise RuntimeError("Cannot switch to the owner role inside a transaction.")
    owner = settings.DATABASE_OWNER
    _app_credentials[alias] = {key: connection.settings_dict.get(key, "") for key in owner}
    connection.close()
    connection.settings_dict.update(owner)


def use_app_credentials(alias: str = DEFAULT_DB_ALIAS) -> None:
    """Reconnect ``alias`` as the app role again."""
    if not running_as_owner(alias):
        return
    connection = connections[alias]
    connection.close()
    connection.settings_dict.update(_app_credentials.pop(alias))


@contextmanager
def as_owner(alias: str = DEFAULT_DB_ALIAS):
    """Run the block as the owner role; re-entrant; a no-op without DATABASE_OWNER_URL."""
    if running_as_owner(alias):
        yield connections[alias]
        return
    use_owner_credentials(alias)
    try:
        yield connections[alias]
    finally:
        use_app_credentials(alias)


def app_role(alias: str = DEFAULT_DB_ALIAS) -> str:
    """The app role's name, while the connection may be running as the owner."""
    credentials = _app_credentials.get(alias) or connections[alias].settings_dict
    return credentials["USER"]


def grant_app_role(connection) -> None:
    """Give the app role DML (no TRUNCATE, no DDL) on every table and sequence, now and to come.

    Run as the owner after every migrate; the guards then decide which rows DML may touch.
    """
    if connection.vendor != "postgresql" or not owner_configured(connection.alias):
        return
    role = connection.ops.quote_name(app_role(connection.alias))
    with connection.cursor() as cursor:  # DDL of privileges: no tracked row is written here
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
        # Tables and sequences that later migrations create (by this owner role) are covered too.
        cursor.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA public "
                       f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}")
        cursor.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}")


def grant_app_role_after_migrate(sender, using, **kwargs) -> None:
    grant_app_role(connections[using])
