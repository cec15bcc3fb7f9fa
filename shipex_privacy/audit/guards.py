"""Database-level guards that make history and access-log tables append-only.

PostgreSQL gets row triggers refusing UPDATE and DELETE and a statement trigger refusing
TRUNCATE; SQLite gets BEFORE UPDATE / BEFORE DELETE triggers. Installing is idempotent and runs
after every ``migrate``. DDL needs a raw cursor; no tracked row is written here.
"""

from django.apps import apps
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from .history import is_append_only

TRIGGER_PREFIX = "shipex_append_only"
PG_FUNCTION = "shipex_refuse_append_only_change"
DIGEST_TABLE = "audit_rowdigest"


def append_only_tables(connection: BaseDatabaseWrapper) -> list[str]:
    existing = set(connection.introspection.table_names())
    tables = {
        model._meta.db_table
        for model in apps.get_models(include_auto_created=True)
        if is_append_only(model)
    }
    return sorted(tables & existing)


def install_append_only_guards(connection: BaseDatabaseWrapper) -> list[str]:
    tables = append_only_tables(connection)
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"""
                CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    -- One exception: the digests of an access-log month being retired, deleted by the
                    -- table's owner inside shipex_retire_access_log_month (audit/partitions.py).
                    IF TG_OP = 'DELETE' AND TG_TABLE_NAME = '{DIGEST_TABLE}'
                       AND coalesce(current_setting('shipex.retiring', true), '') <> ''
                       AND current_user = (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = TG_RELID) THEN
                        RETURN OLD;
                    END IF;
                    RAISE EXCEPTION '% on % refused: ShipEx history and access logs are append-only',
                        TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
                END
                $$
                """  # noqa: S608 — constants of this module, no input
            )
            for table in tables:
                cursor.execute(
                    f"CREATE OR REPLACE TRIGGER {TRIGGER_PREFIX}_row BEFORE UPDATE OR DELETE ON {quote(table)} "
                    f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()"
                )
                cursor.execute(
                    f"CREATE OR REPLACE TRIGGER {TRIGGER_PREFIX}_truncate BEFORE TRUNCATE ON {quote(table)} "
                    f"FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()"
                )
        elif connection.vendor == "sqlite":
            for table in tables:
                for operation in ("UPDATE", "DELETE"):
                    cursor.execute(
                        f"CREATE TRIGGER IF NOT EXISTS {TRIGGER_PREFIX}_{operation.lower()}_{table} "
                        f"BEFORE {operation} ON {quote(table)} BEGIN SELECT RAISE(ABORT, "
                        f"'{operation} on {table} refused: ShipEx history and access logs are append-only'); END"
                    )
        else:
            raise NotImplementedError(f"No append-only guards for {connection.vendor}.")
    return tables


def remove_append_only_guards(connection: BaseDatabaseWrapper) -> None:
    """Only for the test runner's flush (see the guarded flush command)."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in append_only_tables(connection):
            if connection.vendor == "postgresql":
                for suffix in ("row", "truncate"):
                    cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER_PREFIX}_{suffix} ON {quote(table)}")
            else:
                for operation in ("update", "delete"):
                    cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER_PREFIX}_{operation}_{table}")


def guarded_operations(connection: BaseDatabaseWrapper) -> dict[str, set[str]]:
    """Which operations each table's guards refuse, read back from the database's catalogue."""
    guarded: dict[str, set[str]] = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname, t.tgtype FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE t.tgname LIKE %s AND t.tgenabled <> 'D'",
                [f"{TRIGGER_PREFIX}%"],
            )
            # tgtype bits: 8 = DELETE, 16 = UPDATE, 32 = TRUNCATE.
            for table, tgtype in cursor.fetchall():
                ops = guarded.setdefault(table, set())
                ops.update(op for bit, op in ((8, "DELETE"), (16, "UPDATE"), (32, "TRUNCATE")) if tgtype & bit)
        else:
            cursor.execute(
                "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
                [f"{TRIGGER_PREFIX}%"],
            )
            for table, name in cursor.fetchall():
                guarded.setdefault(table, set()).add(name.split("_")[3].upper())
    return guarded


def install_guards_after_migrate(sender, using, **kwargs) -> None:
    install_append_only_guards(connections[using])
