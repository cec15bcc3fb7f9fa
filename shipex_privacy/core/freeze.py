"""Database guards for records that are frozen once a moment is recorded on them.

A model declares ``FROZEN_ONCE_SET = "published_at"``: as soon as that column holds a value, the
database refuses every UPDATE of the row, on PostgreSQL and SQLite alike, so not even raw SQL
can rewrite a published policy or a sent disclosure. A correction is a new record. The guards are
installed idempotently after every migrate (SQLite drops triggers when it rebuilds a table).
DDL needs a raw cursor; no tracked row is written here.
"""

from django.apps import apps
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

TRIGGER_PREFIX = "shipex_frozen"
PG_FUNCTION = "shipex_refuse_frozen_change"


def frozen_models(connection: BaseDatabaseWrapper) -> list:
    existing = set(connection.introspection.table_names())
    return [
        model
        for model in apps.get_models()
        if getattr(model, "FROZEN_ONCE_SET", None) and model._meta.db_table in existing
    ]


def install_freeze_guards(connection: BaseDatabaseWrapper) -> None:
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"""
                CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    RAISE EXCEPTION 'UPDATE of row % of % refused: the record is frozen',
                        OLD.id, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
                END
                $$
                """
            )
        for model in frozen_models(connection):
            table = model._meta.db_table
            column = quote(model._meta.get_field(model.FROZEN_ONCE_SET).column)
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"CREATE OR REPLACE TRIGGER {TRIGGER_PREFIX}_update BEFORE UPDATE ON {quote(table)} "
                    f"FOR EACH ROW WHEN (OLD.{column} IS NOT NULL) EXECUTE FUNCTION {PG_FUNCTION}()"
                )
            else:
                cursor.execute(
                    f"CREATE TRIGGER IF NOT EXISTS {TRIGGER_PREFIX}_update_{table} BEFORE UPDATE ON {quote(table)} "
                    f"WHEN OLD.{column} IS NOT NULL BEGIN SELECT RAISE(ABORT, "
                    f"'UPDATE of {table} refused: the record is frozen'); END"
                )


def install_freeze_guards_after_migrate(sender, using, **kwargs) -> None:
    install_freeze_guards(connections[using])
