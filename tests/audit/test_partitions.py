"""The access log by month on PostgreSQL (issue 15): partitions, the job that makes them ahead, and
retiring a month as a whole under a retirement seal that verify_audit reads."""

import datetime
from io import StringIO

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shipex_privacy.audit import tamper
from shipex_privacy.audit.access import access_record
from shipex_privacy.audit.guards import TRIGGER_PREFIX
from shipex_privacy.audit.models import AccessEvent, AccessLogRetirement, RowDigest
from shipex_privacy.audit.partitions import (
    RetirementRefused,
    make_partitions_ahead,
    partition_name,
    partitions,
    retire_access_log_month,
)
from shipex_privacy.audit.tasks import make_access_log_partitions
from shipex_privacy.core import dbroles
from shipex_privacy.jobs.models import JobRun
from tests.owner import owner_connection

pytestmark = pytest.mark.django_db
postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only: SQLite keeps one table")
split_roles = pytest.mark.skipif(
    connection.vendor != "postgresql" or not dbroles.owner_configured(),
    reason="needs PostgreSQL with split roles (DATABASE_OWNER_URL), as CI runs it",
)
UTC = datetime.UTC


def this_month() -> datetime.date:
    return timezone.now().astimezone(UTC).date().replace(day=1)


def months_from(month: datetime.date, count: int) -> datetime.date:
    index = month.month - 1 + count
    return datetime.date(month.year + index // 12, index % 12 + 1, 1)


def partition_of(event: AccessEvent) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM audit_accessevent WHERE id = %s", [event.pk])
        return cursor.fetchone()[0]


def logged(**values) -> AccessEvent:
    return AccessEvent.objects.create(action=AccessEvent.Action.SUBJECT_VIEW, object_type="subjects.datasubject",
                                      **values)


def make_past_month(month: datetime.date) -> None:
    """The migration makes the months that have rows; a test makes an old one as the owner would."""
    with owner_connection().cursor() as cursor:
        cursor.execute("SELECT shipex_access_log_make_month(%s)", [month])


def seal_everything() -> None:
    call_command("seal_audit", settle_seconds=0, stdout=StringIO())


@pytest.fixture
def officer(django_user_model):
    return django_user_model.objects.create_user("retiring-officer", password="x", is_staff=True)


# --- the partitions -----------------------------------------------------------------------------------


@postgresql
def test_a_read_lands_in_its_months_partition_and_a_month_nobody_made_in_default():
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    now = access_record(request=request, action=AccessEvent.Action.SUBJECT_VIEW, subject_id=7)
    far = logged(at=datetime.datetime.combine(months_from(this_month(), 30), datetime.time(12), tzinfo=UTC))

    assert partition_of(now) == partition_name(this_month())
    assert partition_of(far) == "audit_accessevent_default"
    assert tamper.verify().findings == []  # both digested and verifying, wherever they are


@postgresql
def test_the_digest_reads_the_row_back_from_its_own_partition_only():
    # An IPv6 address takes the save path, whose digest reads the row back (audit/access.py); an IPv4
    # one is written with its digest in one statement and reads nothing back.
    request = RequestFactory().get("/", REMOTE_ADDR="2001:db8::7")
    request.user = AnonymousUser()
    with CaptureQueriesContext(connection) as queries:
        event = access_record(request=request, action=AccessEvent.Action.SUBJECT_VIEW, subject_id=7)
    read_back = [query["sql"] for query in queries.captured_queries
                 if query["sql"].startswith("SELECT") and 'FROM "audit_accessevent"' in query["sql"]]
    assert len(read_back) == 1
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + read_back[0])  # the query as it was sent, values inlined
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert partition_name(this_month()) in plan
    assert "audit_accessevent_default" not in plan and "Append" not in plan
    assert RowDigest.objects.filter(table__name="audit_accessevent", row_id=event.pk).exists()


@postgresql
def test_every_meta_index_is_on_every_partition_also_one_made_later():
    make_partitions_ahead(6)  # months 4–6 are made now, after the migration
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, parent.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class parent ON parent.oid = i.inhparent "
            "WHERE parent.relname = ANY(%s)", [[index.name for index in AccessEvent._meta.indexes]])
        found = cursor.fetchall()
    tables = partitions()
    assert partition_name(months_from(this_month(), 6)) in tables
    for index in AccessEvent._meta.indexes:
        assert len([child for child, parent in found if parent == index.name]) == len(tables)


@postgresql
def test_the_job_makes_the_months_ahead_once_and_reports_a_month_held_in_default():
    held = months_from(this_month(), 5)
    logged(at=datetime.datetime.combine(held, datetime.time(9), tzinfo=UTC))

    found = make_partitions_ahead(6)
    again = make_partitions_ahead(6)

    assert found["created"] == [f"{months_from(this_month(), n):%Y-%m}" for n in (4, 6)]
    assert found["in_default"] == again["in_default"] == [f"{held:%Y-%m}"]
    assert again["created"] == []
    assert partition_name(months_from(this_month(), 6)) in partitions()
    assert partition_name(held) not in partitions()

    summary = make_access_log_partitions()  # the daily job: this month and 3 ahead, all there already
    assert summary == {"created": [], "existing": 4, "in_default": []}
    assert JobRun.objects.get(job="audit.partitions", outcome="succeeded").summary == summary


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite keeps one table")
def test_on_sqlite_the_log_is_one_table_and_no_month_is_retired(officer):
    logged(at=datetime.datetime(2015, 3, 4, tzinfo=UTC))
    assert make_partitions_ahead(3) == {"created": [], "exists": [], "in_default": []}
    with pytest.raises(RetirementRefused, match="only on PostgreSQL"):
        retire_access_log_month(month=datetime.date(2015, 3, 1), reason="Past the rule", user=officer)
    assert AccessLogRetirement.objects.count() == 0
    assert AccessEvent.objects.count() == 1


# --- guards on every partition ------------------------------------------------------------------------


@postgresql
@pytest.mark.parametrize("statement", ["UPDATE {table} SET username = 'someone else'", "DELETE FROM {table}"])
def test_the_guards_refuse_changing_a_partition_directly(statement):
    make_partitions_ahead(6)
    later = months_from(this_month(), 6)  # a partition the job made, not the migration
    logged(at=datetime.datetime.combine(later, datetime.time(8), tzinfo=UTC))
    logged(subject_id=3)
    for table in (partition_name(later), partition_name(this_month())):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement.format(table=connection.ops.quote_name(table)))
    assert AccessEvent.objects.filter(username="").count() == 2


@split_roles
@pytest.mark.parametrize("statement", [
    "TRUNCATE {partition}",
    "DROP TABLE {partition}",
    "ALTER TABLE audit_accessevent DETACH PARTITION {partition}",
    "ALTER TABLE {partition} DISABLE TRIGGER {prefix}_row",
    "SELECT shipex_access_log_make_month('2015-01-01')",
    "SET LOCAL shipex.retiring = 'on'; DELETE FROM audit_rowdigest",
])
def test_the_app_role_cannot_drop_detach_or_lift_a_partitions_guard(statement):
    logged(subject_id=3)
    sql = statement.format(partition=partition_name(this_month()), prefix=TRIGGER_PREFIX)
    with (pytest.raises(DatabaseError, match=r"permission denied|must be owner|append-only"),
          transaction.atomic(), connection.cursor() as cursor):
        cursor.execute(sql)
    assert partition_name(this_month()) in partitions()
    assert RowDigest.objects.count() >= 1


# --- retiring a month -------------------------------------------------------------------------------


@postgresql
def test_a_retired_month_goes_whole_and_verify_names_it_retired_not_removed(officer):
    month = datetime.date(2019, 2, 1)
    make_past_month(month)
    old = [logged(subject_id=n, at=datetime.datetime(2019, 2, n, 10, tzinfo=UTC)) for n in (1, 14, 28)]
    before = logged(subject_id=5, at=datetime.datetime(2019, 1, 31, 23, 59, tzinfo=UTC))  # DEFAULT: kept
    kept = logged(subject_id=9)
    seal_everything()
    ids = [event.pk for event in old]

    retirement = retire_access_log_month(month=month, reason="Past the access log's rule", user=officer)

    assert (retirement.row_count, retirement.first_row_id, retirement.last_row_id) == (3, min(ids), max(ids))
    assert (retirement.username, retirement.rule_code, retirement.rule_period) == (
        "retiring-officer", "access-log", "5 years")
    assert partition_name(month) not in partitions()
    assert list(AccessEvent.objects.filter(pk__in=[*ids, before.pk, kept.pk]).values_list("pk", flat=True)) == [
        kept.pk, before.pk]
    assert not RowDigest.objects.filter(table__name="audit_accessevent", row_id__in=ids).exists()
    report = tamper.verify()
    assert report.findings == []
    assert report.retired_rows == 3
    assert report.retired == [f"audit_accessevent 2019-02: 3 rows, ids {min(ids)}–{max(ids)}, retired "
                              f"{retirement.retired_at:%Y-%m-%d} under access-log (seal #{retirement.pk})"]
    out = StringIO()
    call_command("verify_audit", stdout=out, stderr=StringIO())
    assert f"retired: audit_accessevent 2019-02: 3 rows, ids {min(ids)}–{max(ids)}" in out.getvalue()
    assert "The audit record verifies" in out.getvalue()
    with pytest.raises(RetirementRefused, match="retired already"):
        retire_access_log_month(month=month, reason="Again", user=officer)


@postgresql
def test_rows_removed_without_a_retirement_are_still_named_removed(officer):
    month = datetime.date(2019, 3, 1)
    make_past_month(month)
    gone = logged(subject_id=1, at=datetime.datetime(2019, 3, 2, tzinfo=UTC))
    seal_everything()
    retire_access_log_month(month=month, reason="Past the rule", user=officer)
    # A forged retirement seal (no key) for another month names nothing, and is itself named.
    forged = AccessLogRetirement.objects.create(
        table="audit_accessevent", month=datetime.date(2018, 1, 1), partition="audit_accessevent_y2018m01",
        row_count=1, first_row_id=1, last_row_id=10 ** 9, digests_chain="0" * 64, manifest=b"", rule_code="x",
        rule_period="1 days", reason="forged", mac="0" * 64)

    findings = tamper.verify().findings

    assert [(finding.table, finding.row_id) for finding in findings] == [("audit_accesslogretirement", forged.pk)]
    assert not AccessEvent.objects.filter(pk=gone.pk).exists()


@postgresql
@pytest.mark.parametrize(("month", "refusal"), [
    (lambda: this_month(), "current month"),
    (lambda: months_from(this_month(), 2), "current month or later"),
    (lambda: months_from(this_month(), -12), "not wholly past the access log's retention rule"),
    (lambda: months_from(this_month(), -59), "not wholly past"),  # ends 4 years 11 months ago
    (lambda: datetime.date(2018, 6, 1), "DEFAULT partition"),
])
def test_retiring_refuses_the_wrong_months_and_changes_nothing(officer, month, refusal):
    logged(subject_id=2, at=datetime.datetime(2018, 6, 3, tzinfo=UTC))  # in DEFAULT: 2018-06 has no partition
    make_past_month(months_from(this_month(), -59))
    seal_everything()
    before = (partitions(), AccessEvent.objects.count(), RowDigest.objects.count())

    with pytest.raises(RetirementRefused, match=refusal):
        retire_access_log_month(month=month(), reason="Past the rule", user=officer)

    assert (partitions(), AccessEvent.objects.count(), RowDigest.objects.count()) == before
    assert AccessLogRetirement.objects.count() == 0


@postgresql
def test_retiring_refuses_a_month_whose_digests_are_not_sealed_yet(officer):
    month = datetime.date(2019, 4, 1)
    make_past_month(month)
    logged(subject_id=1, at=datetime.datetime(2019, 4, 2, tzinfo=UTC))
    with pytest.raises(RetirementRefused, match="not sealed yet"):
        retire_access_log_month(month=month, reason="Past the rule", user=officer)
    assert partition_name(month) in partitions()
    assert AccessLogRetirement.objects.count() == 0


def test_the_command_refuses_with_a_clear_message_and_a_reason_is_needed(officer):
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("retire_access_log_month", "March", reason="x", user=officer.username)
    with pytest.raises(CommandError, match="current month"
                       if connection.vendor == "postgresql" else "only on PostgreSQL"):
        call_command("retire_access_log_month", f"{this_month():%Y-%m}", reason="x", user=officer.username)
    with pytest.raises(RetirementRefused, match="reason"):
        retire_access_log_month(month=datetime.date(2015, 1, 1), reason="  ", user=officer)
    assert AccessLogRetirement.objects.count() == 0
