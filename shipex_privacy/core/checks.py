"""``check --deploy``: the database keeps its guards against the application itself (PostgreSQL).

The back office must connect as a role that owns nothing (docs/database-roles.md): a superuser, or
a role that owns a table (or may become its owner), can switch every guard off. And every guard
trigger must be there. These checks read the database; on SQLite they have nothing to say.
"""

from django.core import checks
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

EXPECTED_APPEND_ONLY = {"UPDATE", "DELETE", "TRUNCATE"}


@checks.register("database_roles", deploy=True)
def check_database_roles(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        return []
    try:
        return _role_warnings(connection) + _guard_warnings(connection)
    except DatabaseError as error:
        return [checks.Warning(
            f"Could not read the database to check its role and guards: {str(error).strip().splitlines()[0]}",
            id="core.W100",
        )]


def _role_warnings(connection) -> list[checks.CheckMessage]:
    warnings = []
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
        role, superuser = cursor.fetchone()
        # MEMBER: the role owns the table, or may SET ROLE to its owner; either can drop its triggers.
        cursor.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relkind IN ('r', 'p') AND c.relname = ANY(%s) "
            "AND pg_has_role(current_user, c.relowner, 'MEMBER') ORDER BY c.relname",
            [sorted(tables)],
        )
        owned = [name for (name,) in cursor.fetchall()]
    if superuser:
        warnings.append(checks.Warning(
            f"The back office connects to PostgreSQL as {role}, a superuser: it can switch every guard off.",
            hint="Connect as an app role that owns nothing; run migrate with DATABASE_OWNER_URL "
                 "(docs/database-roles.md).",
            id="core.W101",
        ))
    elif owned:
        warnings.append(checks.Warning(
            f"The back office's database role {role} owns (or may become the owner of) {len(owned)} tables, "
            f"e.g. {', '.join(owned[:3])}: it can drop or disable their guards.",
            hint="Let the owner role own the tables and give the app role DML only (docs/database-roles.md).",
            id="core.W102",
        ))
    return warnings


def _guard_warnings(connection) -> list[checks.CheckMessage]:
    from shipex_privacy.audit.guards import append_only_tables, guarded_operations

    from .freeze import missing_freeze_guards

    guarded = guarded_operations(connection)
    missing = [
        f"{table}: {', '.join(sorted(EXPECTED_APPEND_ONLY - guarded.get(table, set())))}"
        for table in append_only_tables(connection)
        if EXPECTED_APPEND_ONLY - guarded.get(table, set())
    ] + missing_freeze_guards(connection)
    if not missing:
        return []
    return [checks.Warning(
        f"{len(missing)} guard trigger(s) are missing or disabled: {'; '.join(missing[:5])}",
        hint="Run manage.py migrate (as the owner role), which installs them again.",
        id="core.W103",
    )]
