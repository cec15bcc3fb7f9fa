"""verify_audit reads every table as two streams in key order, a fetch at a time, and still names
each row changed, removed or inserted behind the application's back."""

import datetime
import decimal
import uuid
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shipex_privacy.audit import tamper
from shipex_privacy.audit.bulk import append_many
from shipex_privacy.audit.models import AccessEvent
from shipex_privacy.subjects.models import DataSubject
from tests.audit.test_tamper import as_database_owner, copy_row
from tests.subjects.factories import DataSubjectFactory

ACCESS_LOG = AccessEvent._meta.db_table
SUBJECT_HISTORY = DataSubject.history.model._meta.db_table
FETCH = 7  # rows per fetch in these tests: far fewer than the tables hold
SNAPSHOT = 25  # rows per snapshot


def read_events(count: int, **fields) -> list[AccessEvent]:
    now = timezone.now()
    return append_many(rows=[
        AccessEvent(at=now - datetime.timedelta(seconds=n, microseconds=n), user_id=3, username="dilnoza",
                    action=AccessEvent.Action.SUBJECT_VIEW, object_type="subjects.datasubject",
                    object_id=str(n), subject_id=n, ip="10.0.0.9", user_agent="Mozilla/5.0", **fields)
        for n in range(count)
    ])


def found(**options) -> set[tuple[str, int, str]]:
    return {(f.table, f.row_id, f.problem) for f in tamper.verify(**options).findings}


class FetchSpy:
    """Wraps the connection's chunked cursors: which statement each served, and how many rows each fetch gave."""

    def __init__(self, real):
        self.real, self.fetches, self.statements = real, [], []

    def __call__(self):
        spy, cursor = self, self.real()

        class Cursor:
            def __init__(self):
                self.sql = ""

            def execute(self, sql, params=None):
                self.sql = sql
                spy.statements.append(sql)
                return cursor.execute(sql, params)

            def fetchmany(self, size):
                rows = cursor.fetchmany(size)
                spy.fetches.append((self.sql, size, len(rows)))
                return rows

            def __getattr__(self, name):
                return getattr(cursor, name)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                cursor.close()

        return Cursor()

    def rows_of(self, table: str) -> list[int]:
        return [count for sql, _size, count in self.fetches if f'FROM "{table}"' in sql and count]


@pytest.mark.django_db
@pytest.mark.parametrize("sealed", [False, True], ids=["unsealed", "sealed"])
def test_a_changed_a_removed_and_an_inserted_row_among_many_fetches_are_named(sealed):
    from tests.audit.test_tamper import seal_everything

    events = [event.pk for event in read_events(80)]
    if sealed:
        seal_everything()
    changed, removed = events[30], events[31]  # neighbours: the removal shifts every later fetch
    as_database_owner(f"UPDATE {ACCESS_LOG} SET username = 'nobody' WHERE id = %s", [changed])
    as_database_owner(f"DELETE FROM {ACCESS_LOG} WHERE id = %s", [removed])
    inserted = copy_row(AccessEvent, events[5])
    first, last = events[0], events[-1]
    as_database_owner(f"DELETE FROM {ACCESS_LOG} WHERE id IN (%s, %s)", [first, last])

    expected = {
        (ACCESS_LOG, changed, str(tamper.CHANGED)),
        (ACCESS_LOG, removed, str(tamper.REMOVED)),
        (ACCESS_LOG, first, str(tamper.REMOVED)),
        (ACCESS_LOG, last, str(tamper.REMOVED)),
        (ACCESS_LOG, inserted, str(tamper.INSERTED)),
    }
    assert found(batch_size=FETCH, snapshot_rows=SNAPSHOT) == expected
    assert found() == expected  # the same whatever the fetch and snapshot sizes
    assert found(batch_size=1, snapshot_rows=1) == expected


@pytest.mark.django_db
def test_rows_removed_in_a_long_run_and_from_the_end_are_each_named():
    events = [event.pk for event in read_events(60)]
    gone = events[10:40] + events[-3:]  # more than a fetch and a snapshot in one gap; the last rows
    as_database_owner(f"DELETE FROM {ACCESS_LOG} WHERE (id >= %s AND id <= %s) OR id >= %s",
                      [events[10], events[39], events[-3]])
    assert found(batch_size=FETCH, snapshot_rows=SNAPSHOT) == {
        (ACCESS_LOG, pk, str(tamper.REMOVED)) for pk in gone}


@pytest.mark.django_db
def test_rows_are_read_a_fetch_at_a_time_never_a_whole_table(monkeypatch):
    events = read_events(60)
    spy = FetchSpy(connection.chunked_cursor)
    monkeypatch.setattr(connection, "chunked_cursor", spy)
    report = tamper.verify(batch_size=FETCH, snapshot_rows=SNAPSHOT)
    assert report.findings == []

    fetched = spy.rows_of(ACCESS_LOG)
    assert sum(fetched) == len(events)  # every row read once
    assert max(fetched) <= FETCH and len(fetched) >= len(events) // FETCH
    assert {size for sql, size, _count in spy.fetches if ACCESS_LOG in sql or "audit_rowdigest" in sql} == {FETCH}
    # The digests are streamed the same way, never loaded for a whole table.
    assert max(count for sql, _size, count in spy.fetches if 'FROM "audit_rowdigest"' in sql) <= FETCH
    # One statement per snapshot of rows (60 rows in 25s: three), not one per row or per fetch.
    assert len([sql for sql in spy.statements if f'FROM "{ACCESS_LOG}"' in sql]) == 3



@pytest.mark.django_db
def test_a_table_holding_rows_costs_two_statements_its_rows_and_its_digests():
    """Its layouts are read with every table's, and it shares a snapshot with the tables around it."""
    assert not AccessEvent.objects.exists()
    with CaptureQueriesContext(connection) as without_reads:
        tamper.verify()
    read_events(3)
    with CaptureQueriesContext(connection) as with_reads:
        assert tamper.verify().findings == []
    assert len(with_reads) == len(without_reads) + 2


@pytest.mark.django_db
def test_small_tables_are_read_in_one_snapshot_and_large_ones_a_snapshot_of_rows_at_a_time(monkeypatch):
    read_events(60)
    opened, real = [], tamper._one_snapshot

    def spy(alias):
        opened.append(alias)
        return real(alias)

    monkeypatch.setattr(tamper, "_one_snapshot", spy)
    report = tamper.verify()
    assert report.rows_checked > 60  # the access log and the history the migrations wrote, many tables
    assert len(opened) == 2  # every table's rows in one, and the records checked against their history
    opened.clear()
    report = tamper.verify(batch_size=FETCH, snapshot_rows=SNAPSHOT)
    assert len(opened) <= report.rows_checked // SNAPSHOT + 2


# --- the same bytes as row_mac, whichever way a value reaches the verifier -------------------------

TASHKENT = zoneinfo.ZoneInfo("Asia/Tashkent")
VALUES = [
    "Toshkent, Chilonzor 5", "", "ʻOʻzbekiston", "x" * 5000, None, 0, -7, 10**30, True, False,
    datetime.datetime(2026, 3, 1, 9, 30, tzinfo=datetime.UTC),
    datetime.datetime(2026, 3, 1, 14, 30, 0, 1, tzinfo=TASHKENT),
    datetime.datetime(2026, 3, 1, 9, 30, 15, 250000),  # naive
    datetime.date(1990, 11, 7), datetime.time(8, 15), b"\x00\xff", memoryview(b"mac"), bytearray(b"ab"),
    {"b": 1, "a": [1, 2]}, ["x", 1], decimal.Decimal("12.50"), uuid.UUID(int=5), 1.5,
]


def test_the_bulk_macs_are_row_mac_byte_for_byte():
    columns = [f"c{index:02d}" for index in range(len(VALUES))]
    positions = {column: index for index, column in enumerate(columns, start=1)}
    rows = [(row_id, *VALUES[shift:], *VALUES[:shift]) for row_id, shift in ((1, 0), (2, 3), (99999999999, 11))]
    macs = tamper._layout_macs("audit_accessevent", columns, positions, {})(rows)
    assert macs == [tamper.row_mac(table="audit_accessevent", row_id=row[0], columns=columns, values=row[1:])
                    for row in rows]
    # A layout over some columns only, in its own order of positions, as an older layout is.
    some = columns[3:9]
    assert tamper._layout_macs("audit_accessevent", some, positions, {})(rows) == [
        tamper.row_mac(table="audit_accessevent", row_id=row[0], columns=some,
                       values=[row[positions[column]] for column in some]) for row in rows]



def test_the_bulk_macs_are_row_mac_byte_for_byte_whichever_way_a_column_is_framed():
    """Columns that repeat a few values, columns of str or int alone, and columns of values that are
    equal but encode differently (1, True and 1.0) all give row_mac's bytes."""
    count = 40
    values = {
        "a_repeated_text": ["Toshkent" if n % 3 else None for n in range(count)],
        "b_distinct_text": [f"ʻOʻzbekiston {n}" for n in range(count)],
        "c_distinct_int": [10**n - 7 for n in range(count)],
        "d_repeated_int": [n % 2 for n in range(count)],
        "e_repeated_bool": [bool(n % 2) if n % 5 else None for n in range(count)],
        "f_one_and_true": [1 if n % 2 else True for n in range(count)],
        "g_one_and_one_point_zero": [1 if n % 2 else 1.0 for n in range(count)],
        "h_empty_and_none": ["" if n % 2 else None for n in range(count)],
        "i_anything": [VALUES[n % len(VALUES)] for n in range(count)],
    }
    columns = sorted(values)
    positions = {column: index for index, column in enumerate(columns, start=1)}
    rows = [(row_id, *(values[column][n] for column in columns)) for n, row_id in enumerate(range(1, count + 1))]
    for fetch in (rows, rows[:1], rows[:3]):
        assert tamper._layout_macs("audit_trailentry", columns, positions, {})(fetch) == [
            tamper.row_mac(table="audit_trailentry", row_id=row[0], columns=columns, values=row[1:]) for row in fetch]


EDGE_TIMES = [
    datetime.datetime(2026, 12, 2, 3, 0, tzinfo=datetime.UTC),  # no fraction: isoformat leaves it out
    datetime.datetime(2026, 12, 2, 3, 0, 0, 1, tzinfo=datetime.UTC),
    datetime.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=datetime.UTC),
    datetime.datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=datetime.UTC),
    datetime.datetime(1900, 1, 1, 0, 0, 0, 120000, tzinfo=TASHKENT),  # an offset in seconds (LMT)
    datetime.datetime(1, 1, 2, 0, 0, tzinfo=datetime.UTC),
    datetime.datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=datetime.UTC),
]


@pytest.mark.django_db
def test_dates_and_times_verify_the_way_they_were_digested_and_a_microsecond_changed_is_named(support_agent):
    rows = append_many(rows=[AccessEvent(at=at, username="dilnoza", action=AccessEvent.Action.EXPORT,
                                         detail=f"edge {n}") for n, at in enumerate(EDGE_TIMES)])
    for birth_date in (datetime.date(1950, 1, 1), datetime.date(2008, 2, 29)):
        DataSubjectFactory(birth_date=birth_date)
    assert found(batch_size=FETCH) == set()

    nudged = rows[1].pk
    later = connection.ops.adapt_datetimefield_value(EDGE_TIMES[1] + datetime.timedelta(microseconds=1))
    as_database_owner(f"UPDATE {ACCESS_LOG} SET at = %s WHERE id = %s", [later, nudged])
    history = DataSubject.history.filter(birth_date=datetime.date(2008, 2, 29)).get().history_id
    as_database_owner(f"UPDATE {SUBJECT_HISTORY} SET birth_date = %s WHERE history_id = %s",
                      [datetime.date(2008, 3, 1), history])
    assert found(batch_size=FETCH) == {(ACCESS_LOG, nudged, str(tamper.CHANGED)),
                                       (SUBJECT_HISTORY, history, str(tamper.CHANGED))}


@pytest.mark.django_db
def test_on_postgresql_the_database_formats_dates_and_times_exactly_as_the_encoding_does():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite reads values as the ORM gives them")
    events = append_many(rows=[AccessEvent(at=at, username="x", action=AccessEvent.Action.EXPORT)
                               for at in EDGE_TIMES])
    formatted = tamper._formatted_columns(AccessEvent, connection)
    assert set(formatted) == {"at"}
    attname, kind, expression = formatted["at"]
    texts = dict(AccessEvent.objects.filter(pk__in=[e.pk for e in events])
                 .annotate(text=expression(attname)).values_list("at", "text"))
    assert {at: kind + text.encode() for at, text in texts.items()} == {at: tamper._encode(at) for at in texts}
