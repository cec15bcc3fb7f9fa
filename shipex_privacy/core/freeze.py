"""Database guards for records that are frozen once a moment is recorded on them.

A model declares ``FROZEN_ONCE_SET = "sent_at"``: as soon as that column holds a value, the
database refuses every UPDATE and DELETE of the row, on PostgreSQL and SQLite alike, so not even
raw SQL can rewrite or remove a published policy or a sent disclosure. A correction is a new record.

A record is often more than its row. ``FROZEN_WITH = {"fields": (), "disclosed_subjects": (...)}``
names the parts frozen with it — a many-to-many field (its through rows) or a reverse foreign key
(the rows that point to it) — and, for each part, the columns that may still be filled in once
afterwards (the notification of a disclosed subject). Once the record is frozen, the database
refuses to INSERT, UPDATE or DELETE any of its parts, except to fill those columns while empty.

A row inserted already frozen is not refused here (it changes no frozen record); verify_audit
names it, since its history does not show it being frozen through the application.

The guards are installed idempotently after every migrate (SQLite drops triggers when it rebuilds
a table). DDL needs a raw cursor; no tracked row is written here. Every name in the DDL comes from
the models, never from input.
"""

from dataclasses import dataclass

from django.apps import apps
from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper

TRIGGER_PREFIX = "shipex_frozen"
PG_FUNCTION = "shipex_refuse_frozen_change"
PG_PART_FUNCTION = "shipex_refuse_frozen_part_change"


@dataclass(frozen=True)
class FrozenPart:
    """Rows of ``table`` that belong to the frozen record whose id is in ``parent_column``."""

    table: str
    parent_column: str
    columns: tuple[str, ...]
    fill_once: tuple[str, ...]
    parent_table: str
    parent_pk: str
    frozen_column: str


def frozen_models(connection: BaseDatabaseWrapper) -> list:
    existing = set(connection.introspection.table_names())
    return [
        model
        for model in apps.get_models()
        if getattr(model, "FROZEN_ONCE_SET", None) and model._meta.db_table in existing
    ]


def frozen_parts(model) -> list[FrozenPart]:
    parts = []
    frozen_column = model._meta.get_field(model.FROZEN_ONCE_SET).column
    for name, fill_once in getattr(model, "FROZEN_WITH", {}).items():
        field = model._meta.get_field(name)
        if isinstance(field, models.ManyToManyField):
            part_model, parent_column = field.remote_field.through, field.m2m_column_name()
        elif isinstance(field, models.ManyToOneRel):
            part_model, parent_column = field.related_model, field.field.column
        else:
            raise TypeError(f"{model._meta.label}.FROZEN_WITH: {name} is neither a many-to-many field nor rows "
                            "that point to it")
        columns = tuple(f.column for f in part_model._meta.concrete_fields)
        fill_once = tuple(part_model._meta.get_field(f).column for f in fill_once)
        parts.append(FrozenPart(part_model._meta.db_table, parent_column, columns, fill_once, model._meta.db_table,
                                model._meta.pk.column, frozen_column))
    return parts


def expected_triggers(connection: BaseDatabaseWrapper) -> dict[str, set[str]]:
    """The guard triggers each table must have, by name."""
    expected: dict[str, set[str]] = {}
    for model in frozen_models(connection):
        table = model._meta.db_table
        if connection.vendor == "postgresql":
            expected.setdefault(table, set()).update({f"{TRIGGER_PREFIX}_update", f"{TRIGGER_PREFIX}_delete"})
        else:
            expected.setdefault(table, set()).update({f"{TRIGGER_PREFIX}_{op}_{table}" for op in ("update", "delete")})
        for part in frozen_parts(model):
            if connection.vendor == "postgresql":
                expected.setdefault(part.table, set()).add(f"{TRIGGER_PREFIX}_part")
            else:
                expected.setdefault(part.table, set()).update(
                    {f"{TRIGGER_PREFIX}_part_{op}_{part.table}" for op in ("insert", "update", "delete")})
    return expected


def installed_triggers(connection: BaseDatabaseWrapper) -> dict[str, set[str]]:
    """The enabled freeze triggers the database has, read back from its catalogue."""
    found: dict[str, set[str]] = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE t.tgname LIKE %s AND t.tgenabled <> 'D'", [f"{TRIGGER_PREFIX}%"])
        else:
            cursor.execute("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
                           [f"{TRIGGER_PREFIX}%"])
        for table, name in cursor.fetchall():
            found.setdefault(table, set()).add(name)
    return found


def missing_freeze_guards(connection: BaseDatabaseWrapper) -> list[str]:
    installed = installed_triggers(connection)
    return sorted(f"{table}: {name}" for table, names in expected_triggers(connection).items()
                  for name in names - installed.get(table, set()))


def _pg_functions(cursor) -> None:
    cursor.execute(
        f"""
        CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% of row % of % refused: the record is frozen',
                TG_OP, OLD.id, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """
    )
    # Arguments: parent table, its primary key, its frozen column, this table's column naming the
    # parent, and the comma-separated columns that may still be filled in once.
    cursor.execute(
        f"""
        CREATE OR REPLACE FUNCTION {PG_PART_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            parent_ids bigint[] := '{{}}';
            fill_once text[] := string_to_array(TG_ARGV[4], ',');
            frozen boolean;
            allowed boolean := false;
            col text;
        BEGIN
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                parent_ids := parent_ids || (to_jsonb(OLD) ->> TG_ARGV[3])::bigint;
            END IF;
            IF TG_OP IN ('UPDATE', 'INSERT') THEN
                parent_ids := parent_ids || (to_jsonb(NEW) ->> TG_ARGV[3])::bigint;
            END IF;
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I = ANY($1) AND %I IS NOT NULL)',
                           TG_ARGV[0], TG_ARGV[1], TG_ARGV[2]) INTO frozen USING parent_ids;
            IF frozen AND TG_OP = 'UPDATE' AND (to_jsonb(OLD) - fill_once) = (to_jsonb(NEW) - fill_once) THEN
                allowed := true;
                FOREACH col IN ARRAY fill_once LOOP
                    IF (to_jsonb(OLD) ->> col) IS DISTINCT FROM (to_jsonb(NEW) ->> col)
                            AND COALESCE(to_jsonb(OLD) ->> col, '') <> '' THEN
                        allowed := false;
                    END IF;
                END LOOP;
            END IF;
            IF frozen AND NOT allowed THEN
                RAISE EXCEPTION '% on % refused: the record it belongs to (% %) is frozen',
                    TG_OP, TG_TABLE_NAME, TG_ARGV[0], parent_ids USING ERRCODE = 'insufficient_privilege';
            END IF;
            IF TG_OP = 'DELETE' THEN
                RETURN OLD;
            END IF;
            RETURN NEW;
        END
        $$
        """  # noqa: S608 (names come from TG_ARGV through format's %I, never from input)
    )


def _sqlite_part_triggers(cursor, part: FrozenPart, quote) -> None:
    def parent_frozen(row: str) -> str:
        frozen_column, parent_table = quote(part.frozen_column), quote(part.parent_table)
        parent_pk, parent_column = quote(part.parent_pk), quote(part.parent_column)
        return f"(SELECT {frozen_column} FROM {parent_table} WHERE {parent_pk} = {row}.{parent_column}) IS NOT NULL"  # noqa: S608

    unchanged = " AND ".join(f"OLD.{quote(c)} IS NEW.{quote(c)}" for c in part.columns if c not in part.fill_once)
    filled_once = "".join(f" AND (OLD.{quote(c)} IS NEW.{quote(c)} OR COALESCE(OLD.{quote(c)}, '') = '')"
                          for c in part.fill_once)
    conditions = {
        "insert": parent_frozen("NEW"),
        "delete": parent_frozen("OLD"),
        "update": f"({parent_frozen('OLD')} OR {parent_frozen('NEW')}) AND NOT ({unchanged}{filled_once})",
    }
    for operation, condition in conditions.items():
        cursor.execute(
            f"CREATE TRIGGER IF NOT EXISTS {TRIGGER_PREFIX}_part_{operation}_{part.table} "
            f"BEFORE {operation.upper()} ON {quote(part.table)} WHEN {condition} BEGIN SELECT RAISE(ABORT, "
            f"'{operation.upper()} on {part.table} refused: the record it belongs to is frozen'); END"
        )


def install_freeze_guards(connection: BaseDatabaseWrapper) -> None:
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _pg_functions(cursor)
        for model in frozen_models(connection):
            table = model._meta.db_table
            column = quote(model._meta.get_field(model.FROZEN_ONCE_SET).column)
            for operation in ("update", "delete"):
                if connection.vendor == "postgresql":
                    cursor.execute(
                        f"CREATE OR REPLACE TRIGGER {TRIGGER_PREFIX}_{operation} BEFORE {operation.upper()} "
                        f"ON {quote(table)} FOR EACH ROW WHEN (OLD.{column} IS NOT NULL) "
                        f"EXECUTE FUNCTION {PG_FUNCTION}()"
                    )
                else:
                    cursor.execute(
                        f"CREATE TRIGGER IF NOT EXISTS {TRIGGER_PREFIX}_{operation}_{table} BEFORE {operation.upper()} "
                        f"ON {quote(table)} WHEN OLD.{column} IS NOT NULL BEGIN SELECT RAISE(ABORT, "
                        f"'{operation.upper()} of {table} refused: the record is frozen'); END"
                    )
            for part in frozen_parts(model):
                if connection.vendor == "postgresql":
                    arguments = ", ".join(f"'{argument}'" for argument in (
                        part.parent_table, part.parent_pk, part.frozen_column, part.parent_column,
                        ",".join(part.fill_once)))
                    cursor.execute(
                        f"CREATE OR REPLACE TRIGGER {TRIGGER_PREFIX}_part BEFORE INSERT OR UPDATE OR DELETE "
                        f"ON {quote(part.table)} FOR EACH ROW EXECUTE FUNCTION {PG_PART_FUNCTION}({arguments})"
                    )
                else:
                    _sqlite_part_triggers(cursor, part, quote)


def remove_freeze_guards(connection: BaseDatabaseWrapper) -> None:
    """Only for the test runner's flush (see the guarded flush command), which puts them back."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table, names in expected_triggers(connection).items():
            for name in names:
                if connection.vendor == "postgresql":
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {quote(table)}")
                else:
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def install_freeze_guards_after_migrate(sender, using, **kwargs) -> None:
    install_freeze_guards(connections[using])
