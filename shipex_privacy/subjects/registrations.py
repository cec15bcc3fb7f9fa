"""Subjects registered per UTC hour, kept by the database itself.

Every SQL text here is built from this module's constants; none takes input.

The consent report divides the consents in force at each month-end by the subjects registered by
then. Counting ``registered_at <= moment`` reads every subject's entry and grows with the table;
``RegistrationHour`` holds one row per hour that has registrations, so the report sums a few thousand
rows instead. Triggers keep it (an insert adds, a delete takes away, an update that moves
``registered_at`` does both), so no write path — the services, the bulk path, imports, migrations,
a test factory — can forget it. Whole UTC hours line up with the local month-ends of any whole-hour
time zone (Tashkent is UTC+5); a moment inside an hour (now) counts that hour's subjects exactly.

On PostgreSQL the triggers are per statement over transition tables: a batch of 1,000 inserts is one
grouped upsert. Two transactions registering subjects in the same hour wait for each other's commit
on that hour's row; live sign-ups are short transactions, and a back-fill's subjects spread over years.
"""

from datetime import UTC, datetime, timedelta

from django.db.models import Count, Q, Sum

TABLE = "subjects_registrationhour"
SUBJECTS = "subjects_datasubject"
PREFIX = "shipex_registrations"
HOUR = timedelta(hours=1)
TICK = timedelta(microseconds=1)

_PG_HOUR = "date_trunc('hour', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
_PG_ADD = (f"INSERT INTO {TABLE} (hour, registered) SELECT {{hour}}, {{sign}}count(*) FROM {{rows}} GROUP BY 1 "  # noqa: S608
           f"ON CONFLICT (hour) DO UPDATE SET registered = {TABLE}.registered + EXCLUDED.registered")

PG_INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION {PREFIX}_count() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            {_PG_ADD.format(hour=_PG_HOUR.format(column="registered_at"), sign="", rows="new_rows")};
        ELSIF TG_OP = 'DELETE' THEN
            {_PG_ADD.format(hour=_PG_HOUR.format(column="registered_at"), sign="-", rows="old_rows")};
        ELSE  -- only the rows whose registered_at moved; any other update writes nothing here
            {_PG_ADD.format(hour=_PG_HOUR.format(column="o.registered_at"), sign="-",
                            rows="old_rows o JOIN new_rows n ON n.id = o.id"
                                 " WHERE n.registered_at IS DISTINCT FROM o.registered_at")};
            {_PG_ADD.format(hour=_PG_HOUR.format(column="n.registered_at"), sign="",
                            rows="old_rows o JOIN new_rows n ON n.id = o.id"
                                 " WHERE n.registered_at IS DISTINCT FROM o.registered_at")};
        END IF;
        RETURN NULL;
    END
    $$
    """,
    f"CREATE OR REPLACE TRIGGER {PREFIX}_insert AFTER INSERT ON {SUBJECTS} REFERENCING NEW TABLE AS new_rows "
    f"FOR EACH STATEMENT EXECUTE FUNCTION {PREFIX}_count()",
    f"CREATE OR REPLACE TRIGGER {PREFIX}_delete AFTER DELETE ON {SUBJECTS} REFERENCING OLD TABLE AS old_rows "
    f"FOR EACH STATEMENT EXECUTE FUNCTION {PREFIX}_count()",
    f"CREATE OR REPLACE TRIGGER {PREFIX}_update AFTER UPDATE ON {SUBJECTS} "
    f"REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {PREFIX}_count()",
]

# SQLite keeps datetimes as UTC text ("2026-12-04 18:42:58.675971"); the hour is its first 13 characters.
_SQLITE_ADD = (f"INSERT INTO {TABLE} (hour, registered) VALUES (strftime('%Y-%m-%d %H:00:00', {{row}}.registered_at), "  # noqa: S608
               f"{{n}}) ON CONFLICT (hour) DO UPDATE SET registered = registered + excluded.registered;")
SQLITE_INSTALL = [
    f"CREATE TRIGGER IF NOT EXISTS {PREFIX}_insert AFTER INSERT ON {SUBJECTS} BEGIN "
    f"{_SQLITE_ADD.format(row='NEW', n=1)} END",
    f"CREATE TRIGGER IF NOT EXISTS {PREFIX}_delete AFTER DELETE ON {SUBJECTS} BEGIN "
    f"{_SQLITE_ADD.format(row='OLD', n=-1)} END",
    f"CREATE TRIGGER IF NOT EXISTS {PREFIX}_update AFTER UPDATE OF registered_at ON {SUBJECTS} "
    f"WHEN NEW.registered_at IS NOT OLD.registered_at BEGIN "
    f"{_SQLITE_ADD.format(row='OLD', n=-1)} {_SQLITE_ADD.format(row='NEW', n=1)} END",
]

FILL = {
    "postgresql": f"INSERT INTO {TABLE} (hour, registered) SELECT {_PG_HOUR.format(column='registered_at')}, "  # noqa: S608
                  f"count(*) FROM {SUBJECTS} GROUP BY 1",
    "sqlite": f"INSERT INTO {TABLE} (hour, registered) SELECT strftime('%Y-%m-%d %H:00:00', registered_at), "  # noqa: S608
              f"count(*) FROM {SUBJECTS} GROUP BY 1",
}


def install(schema_editor) -> None:
    """Create the triggers and count the subjects already there (a migration's step; DDL, no tracked row)."""
    vendor = schema_editor.connection.vendor
    for statement in {"postgresql": PG_INSTALL, "sqlite": SQLITE_INSTALL}[vendor]:
        schema_editor.execute(statement, params=None)
    schema_editor.execute(f"DELETE FROM {TABLE}", params=None)  # noqa: S608 (a derived table of this module)
    schema_editor.execute(FILL[vendor], params=None)


def uninstall(schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    for name in ("insert", "delete", "update"):
        on = f" ON {SUBJECTS}" if vendor == "postgresql" else ""
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {PREFIX}_{name}{on}", params=None)
    if vendor == "postgresql":
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {PREFIX}_count()", params=None)


def _hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def registered_by(moments: list[datetime]) -> list[int]:
    """How many subjects were registered at or before each of ``moments``: two queries, whatever the size.

    An hour ending at the moment (a local month-end) is read whole from ``RegistrationHour``; for a
    moment inside an hour, that hour's subjects up to the moment are counted on the registration index.
    """
    from .models import DataSubject, RegistrationHour

    hours = [_hour_of(moment) for moment in moments]
    whole = [moment == hour + HOUR - TICK for moment, hour in zip(moments, hours, strict=True)]
    sums = RegistrationHour.objects.aggregate(**{
        f"m{index}": Sum("registered", default=0,
                         filter=Q(hour__lte=hour) if whole[index] else Q(hour__lt=hour))
        for index, hour in enumerate(hours)})
    inside = [index for index in range(len(moments)) if not whole[index]]
    partial = {}
    if inside:
        partial = DataSubject.objects.filter(
            registered_at__gte=min(hours[index] for index in inside),
            registered_at__lte=max(moments[index] for index in inside),
        ).aggregate(**{f"m{index}": Count("pk", filter=Q(registered_at__gte=hours[index],
                                                          registered_at__lte=moments[index]))
                       for index in inside})
    return [sums[f"m{index}"] + partial.get(f"m{index}", 0) for index in range(len(moments))]
