"""The access log becomes a table partitioned by month on PostgreSQL (issue 15, docs/access-log.md).

PostgreSQL only; on SQLite the log stays one table and this migration does nothing.

``audit_accessevent`` is rebuilt as ``PARTITION BY RANGE (at)``, one partition per calendar month in
UTC (``audit_accessevent_y2026m12``) and a DEFAULT partition, so that a write never fails for a month
nobody made ahead. Its existing rows are copied inside this migration with their ids and values
unchanged, so their digests still verify. A partitioned table's unique keys must hold the partition
key: the primary key is (id, at). Django keeps ``id`` as the model's pk; ids stay unique because they
all come from the one sequence, which keeps its value (the identity column of the old table becomes
a plain sequence owned by the column: PostgreSQL 15 has no identity columns on partitioned tables).

The indexes of the model's Meta are created on the parent: partitioned indexes, which PostgreSQL
creates on every partition, those made later included. The append-only guards are installed on the
parent after migrate (audit/guards.py): row triggers on a partitioned table are cloned to every
partition, those made later included; TRUNCATE needs a privilege the app role does not have.

Partitions are made ahead by the daily job ``audit.partitions`` (audit/partitions.py), which runs as
the app role: it calls ``shipex_access_log_partitions_ahead(months)``, a SECURITY DEFINER function
owned by the owner role that can only create the coming months' partitions of this table.
"""

from django.db import migrations

MONTHS_AHEAD = 3

FUNCTIONS = """
CREATE OR REPLACE FUNCTION shipex_access_log_make_month(month date) RETURNS text
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    first_day date := date_trunc('month', month)::date;
    low timestamptz := first_day::timestamp AT TIME ZONE 'UTC';
    high timestamptz := (first_day + interval '1 month')::timestamp AT TIME ZONE 'UTC';
    name text := 'audit_accessevent_' || to_char(first_day, '"y"YYYY"m"MM');
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN 'exists';
    END IF;
    -- Rows of the month already written to the DEFAULT partition would stop the partition from
    -- being attached; they stay where they are (a month kept in DEFAULT is never retired).
    IF EXISTS (SELECT 1 FROM audit_accessevent_default WHERE at >= low AND at < high) THEN
        RETURN 'in_default';
    END IF;
    EXECUTE format('CREATE TABLE %I PARTITION OF audit_accessevent FOR VALUES FROM (%L) TO (%L)', name, low, high);
    RETURN 'created';
END
$$;
REVOKE ALL ON FUNCTION shipex_access_log_make_month(date) FROM PUBLIC;

CREATE OR REPLACE FUNCTION shipex_access_log_partitions_ahead(months integer)
RETURNS TABLE (month date, state text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    this_month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
BEGIN
    IF months IS NULL OR months < 0 OR months > 24 THEN
        RAISE EXCEPTION 'months ahead must be between 0 and 24, not %', months USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Two runs at once make each partition once.
    PERFORM pg_advisory_xact_lock(hashtext('shipex_access_log_partitions'));
    FOR step IN 0..months LOOP
        month := (this_month + make_interval(months => step))::date;
        state := shipex_access_log_make_month(month);
        RETURN NEXT;
    END LOOP;
END
$$;
"""

PARTITION = """
CREATE TABLE audit_accessevent_partitioned (LIKE audit_accessevent INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
    PARTITION BY RANGE (at);
CREATE TABLE audit_accessevent_default PARTITION OF audit_accessevent_partitioned DEFAULT;
"""


def month_partitions(cursor, table: str) -> None:
    """Partitions for every month that has rows, and for this month and MONTHS_AHEAD more."""
    cursor.execute(
        f"""
        SELECT DISTINCT date_trunc('month', at AT TIME ZONE 'UTC')::date FROM {table}
        UNION
        SELECT generate_series(date_trunc('month', now() AT TIME ZONE 'UTC'),
                               date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => %s),
                               interval '1 month')::date
        ORDER BY 1
        """,  # noqa: S608 — a fixed table name
        [MONTHS_AHEAD],
    )
    months = [row[0] for row in cursor.fetchall()]
    for month in months:
        name = f"audit_accessevent_y{month:%Y}m{month:%m}"
        cursor.execute(
            f"CREATE TABLE {name} PARTITION OF audit_accessevent_partitioned FOR VALUES FROM "
            "((%s::date)::timestamp AT TIME ZONE 'UTC') TO (((%s::date) + interval '1 month')::timestamp AT TIME ZONE 'UTC')",
            [month, month],
        )


def partition(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return  # SQLite keeps one table
    AccessEvent = apps.get_model("audit", "AccessEvent")
    # DDL and the copy of the rows (values unchanged: their digests still verify); no tracked model.
    with connection.cursor() as cursor:
        # No read is logged meanwhile into the table being copied (it would be dropped with it):
        # writers wait for the migration's commit, then write to the partitioned table.
        cursor.execute("LOCK TABLE audit_accessevent IN EXCLUSIVE MODE")
        cursor.execute("SELECT pg_get_serial_sequence('audit_accessevent', 'id')")
        (old_sequence,) = cursor.fetchone()
        cursor.execute(f"SELECT last_value, is_called FROM {old_sequence}")  # noqa: S608 — from the catalogue
        last_value, is_called = cursor.fetchone()
        cursor.execute(PARTITION)
        month_partitions(cursor, "audit_accessevent")
        cursor.execute("INSERT INTO audit_accessevent_partitioned SELECT * FROM audit_accessevent ORDER BY id")
        cursor.execute("DROP TABLE audit_accessevent")  # its identity sequence goes with it
        cursor.execute("ALTER TABLE audit_accessevent_partitioned RENAME TO audit_accessevent")
        cursor.execute("CREATE SEQUENCE audit_accessevent_id_seq OWNED BY audit_accessevent.id")
        cursor.execute("SELECT setval('audit_accessevent_id_seq', %s, %s)", [last_value, is_called])
        cursor.execute("ALTER TABLE audit_accessevent ALTER COLUMN id SET DEFAULT nextval('audit_accessevent_id_seq')")
        cursor.execute("ALTER TABLE audit_accessevent ADD CONSTRAINT audit_accessevent_pkey PRIMARY KEY (id, at)")
    # The Meta's indexes, as partitioned indexes (on every partition, later ones too).
    for index in AccessEvent._meta.indexes:
        schema_editor.add_index(AccessEvent, index)
    with connection.cursor() as cursor:
        cursor.execute(FUNCTIONS)


def unpartition(apps, schema_editor):
    """Back to one table, rows, ids and sequence kept (retired months stay retired)."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    AccessEvent = apps.get_model("audit", "AccessEvent")
    with connection.cursor() as cursor:
        cursor.execute("LOCK TABLE audit_accessevent IN EXCLUSIVE MODE")
        cursor.execute("DROP FUNCTION IF EXISTS shipex_access_log_partitions_ahead(integer)")
        cursor.execute("DROP FUNCTION IF EXISTS shipex_access_log_make_month(date)")
        cursor.execute("SELECT last_value, is_called FROM audit_accessevent_id_seq")
        last_value, is_called = cursor.fetchone()
        cursor.execute("CREATE TABLE audit_accessevent_plain "
                       "(LIKE audit_accessevent INCLUDING CONSTRAINTS)")
        cursor.execute("INSERT INTO audit_accessevent_plain SELECT * FROM audit_accessevent ORDER BY id")
        cursor.execute("DROP TABLE audit_accessevent")  # its partitions and sequence go with it
        cursor.execute("ALTER TABLE audit_accessevent_plain RENAME TO audit_accessevent")
        cursor.execute("ALTER TABLE audit_accessevent ADD CONSTRAINT audit_accessevent_pkey PRIMARY KEY (id)")
        cursor.execute("ALTER TABLE audit_accessevent ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
        cursor.execute("SELECT setval(pg_get_serial_sequence('audit_accessevent', 'id'), %s, %s)",
                       [last_value, is_called])
    for index in AccessEvent._meta.indexes:
        schema_editor.add_index(AccessEvent, index)


class Migration(migrations.Migration):
    dependencies = [("audit", "0008_new_audit_events")]

    operations = [migrations.RunPython(partition, unpartition, elidable=False)]
