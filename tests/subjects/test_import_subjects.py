"""manage.py import_subjects: NDJSON or CSV, in batches with full history, bad rows named by line."""

import csv
import io
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipex_privacy.audit import tamper
from shipex_privacy.audit.events import AuditEvent, SystemActor
from shipex_privacy.audit.models import TrailEntry
from shipex_privacy.subjects.management.commands.import_subjects import (
    MAX_LINE_BYTES,
    BadRow,
    Row,
    parse_ndjson_line,
    physical_lines,
)
from shipex_privacy.subjects.models import Address, DataSubject
from shipex_privacy.subjects.services import subjects_upsert_many
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db

HOME = {"kind": "home", "region": "Toshkent shahri", "city": "Yunusobod tumani", "street": "Amir Temur 12"}


def subject(n: int, **changes) -> dict:
    body = {"account_id": f"SX{5_000_000 + n}", "full_name": f"Aziza Karimova {n}", "phone": f"+998 90 123 {n:04d}",
            "email": f"aziza{n}@mail.uz", "addresses": [HOME]}
    body.update(changes)
    return body


def ndjson(*bodies) -> bytes:
    return b"".join((body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()) + b"\n"
                    for body in bodies)


def run(tmp_path, content: bytes, *args, name="subjects.ndjson"):
    path = tmp_path / name
    path.write_bytes(content)
    out, err = StringIO(), StringIO()
    call_command("import_subjects", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_refused(tmp_path, content: bytes, *args, name="subjects.ndjson"):
    path = tmp_path / name
    path.write_bytes(content)
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("import_subjects", str(path), *args, stdout=out, stderr=err)
    return str(refused.value), out.getvalue(), err.getvalue()


def test_an_ndjson_file_creates_subjects_with_history_naming_the_importer(tmp_path):
    out, err = run(tmp_path, ndjson(subject(1), subject(2, addresses=[HOME, {**HOME, "kind": "work"}]), subject(3)))
    assert "3 rows read; 3 created, 0 updated, 0 unchanged, 0 refused" in out
    assert "3 rows read, 3 imported, 0 refused" in err  # the progress line
    aziza = DataSubject.objects.get(account_id="SX5000002")
    assert aziza.phone == "+998901230002" and aziza.addresses.count() == 2
    row = aziza.history.get()
    assert (row.history_type, row.history_user_id, row.history_username) == ("+", None, "system:import")
    assert row.history_change_reason == "Imported from subjects.ndjson"
    entries = TrailEntry.objects.filter(subject_id=aziza.pk)
    assert {(e.event, e.username) for e in entries} == {(AuditEvent.IMPORTED, "system:import")}
    assert entries.count() == 3
    assert tamper.verify().findings == []


def test_a_csv_file_flattens_addresses_into_numbered_columns(tmp_path):
    content = (
        "\ufeffaccount_id,full_name,phone,birth_date,address_1_kind,address_1_region,address_1_city,address_1_street,"
        "address_2_kind,address_2_region,address_2_city,address_2_street\r\n"
        'SX5000001,Aziza Karimova,+998 90 123 45 67,1990-01-31,home,Toshkent,Yunusobod,"Amir Temur 12,\n34-xonadon",'
        "work,Toshkent,Chilonzor,Bunyodkor 5\r\n"
        "SX5000002,Bobur Aliyev,901234568,,,,,,,,,\r\n"
    ).encode()
    out, _err = run(tmp_path, content, name="subjects.csv")
    assert "2 created" in out
    aziza = DataSubject.objects.get(account_id="SX5000001")
    assert str(aziza.birth_date) == "1990-01-31"
    assert sorted(aziza.addresses.values_list("kind", "street")) == [
        ("home", "Amir Temur 12,\n34-xonadon"), ("work", "Bunyodkor 5")]
    bobur = DataSubject.objects.get(account_id="SX5000002")
    assert (bobur.phone, bobur.birth_date, bobur.addresses.count()) == ("+998901234568", None, 0)


def test_a_csv_import_gives_the_process_its_csv_field_limit_back(tmp_path):
    """The limit is process-wide: a lowered one made the consents import refuse what it accepts."""
    before = csv.field_size_limit()
    run(tmp_path, b"account_id,full_name,phone\r\nSX5000003,Aziza Karimova,+998901234567\r\n", name="subjects.csv")
    assert csv.field_size_limit() == before


def test_a_csv_header_that_is_not_ours_is_refused_before_anything_is_written(tmp_path):
    message, _out, _err = run_refused(tmp_path, b"account_id,nickname\nSX5000001,Aziza\n", name="s.csv")
    assert "Unknown column “nickname”" in message and "Nothing was imported" in message
    message, _out, _err = run_refused(tmp_path, b"account_id,phone,phone\n", name="s.csv")
    assert "appears twice" in message
    assert not DataSubject.objects.filter(account_id="SX5000001").exists()


def test_a_bad_row_stops_the_import_at_its_batch_naming_the_line(tmp_path):
    content = ndjson(subject(1), subject(2), subject(3), b'{"account_id": "SX5000004", "full_name": ', subject(5),
                     subject(6, phone="12"))
    message, out, err = run_refused(tmp_path, content, "--batch-size", "2")
    assert "line 4: The line is not a JSON object" in err
    assert "Stopped at the batch starting on line 3" in message
    assert "The 2 rows of the 1 batches before it are imported" in message
    assert "4 rows read; 2 created" in out
    assert set(DataSubject.objects.filter(account_id__startswith="SX50000").values_list("account_id", flat=True)) \
        == {"SX5000001", "SX5000002"}


def test_a_refused_subject_keeps_its_whole_batch_from_being_written(tmp_path):
    message, _out, err = run_refused(tmp_path, ndjson(subject(1), subject(2, phone="12"), subject(3)))
    assert "line 2: SX5000002: phone:" in err
    assert "Stopped at the batch starting on line 1" in message
    assert not DataSubject.objects.filter(account_id__startswith="SX50000").exists()


def test_skip_bad_reports_each_bad_line_and_imports_the_rest(tmp_path):
    content = ndjson(subject(1), b"[1, 2]", subject(3, phone="12"), b"\xff\xfe not text", subject(5),
                     b"x" * (MAX_LINE_BYTES + 10), b"", subject(8), {"full_name": "No id"})
    out, err = run(tmp_path, content, "--skip-bad", "--batch-size", "2")
    assert "line 2: The line is not a JSON object describing a subject." in err
    assert "line 3: SX5000003: phone:" in err
    assert "line 4: The line is not UTF-8 text (byte 1)." in err
    assert f"line 6: The line is longer than {MAX_LINE_BYTES} bytes." in err
    assert "line 9: The line has no account_id." in err
    assert "8 rows read; 3 created, 0 updated, 0 unchanged, 5 refused" in out
    assert set(DataSubject.objects.filter(account_id__startswith="SX50000").values_list("account_id", flat=True)) \
        == {"SX5000001", "SX5000005", "SX5000008"}


def test_running_the_same_file_again_updates_nothing_and_a_changed_row_is_an_update(tmp_path):
    run(tmp_path, ndjson(subject(1), subject(2)))
    history = DataSubject.history.count(), Address.history.count()
    out, _err = run(tmp_path, ndjson(subject(1), subject(2)))
    assert "0 created, 0 updated, 2 unchanged" in out
    assert (DataSubject.history.count(), Address.history.count()) == history
    out, _err = run(tmp_path, ndjson(subject(1, full_name="Aziza Rahimova"), subject(2)))
    assert "0 created, 1 updated, 1 unchanged" in out
    assert DataSubject.objects.filter(account_id__startswith="SX50000").count() == 2
    assert DataSubject.objects.get(account_id="SX5000001").history.latest().history_type == "~"
    assert tamper.verify().findings == []


def test_import_as_a_staff_member_who_may_change_subjects(tmp_path, support_agent, auditor):
    run(tmp_path, ndjson(subject(1)), "--as", support_agent.username, "--reason", "Back-fill 2026-12")
    row = DataSubject.objects.get(account_id="SX5000001").history.get()
    assert (row.history_user_id, row.history_username, row.history_change_reason) == (
        support_agent.pk, support_agent.username, "Back-fill 2026-12")
    message, _out, _err = run_refused(tmp_path, ndjson(subject(2)), "--as", auditor.username)
    assert "may not change data subjects" in message
    message, _out, _err = run_refused(tmp_path, ndjson(subject(2)), "--as", "nobody")
    assert "No active staff member" in message


def test_an_erased_subject_is_refused(tmp_path):
    DataSubjectFactory(account_id="SX5000001", status=DataSubject.Status.ANONYMISED)
    _out, err = run(tmp_path, ndjson(subject(1), subject(2)), "--skip-bad")
    assert "line 1: SX5000001: The data of this subject was erased" in err
    assert DataSubject.objects.get(account_id="SX5000001").full_name != "Aziza Karimova 1"


def test_an_empty_file_or_one_that_cannot_be_read_is_refused_clearly(tmp_path):
    message, _out, _err = run_refused(tmp_path, b"")
    assert "The file is empty" in message
    message, _out, _err = run_refused(tmp_path, b"\n\n  \n")
    assert "The file is empty" in message
    message, _out, _err = run_refused(tmp_path, b"", name="empty.csv")
    assert "no header row" in message
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_subjects", str(tmp_path / "missing.ndjson"), stdout=StringIO(), stderr=StringIO())


def test_a_file_that_is_not_utf8_is_refused_line_by_line(tmp_path):
    content = "\n".join(json.dumps(subject(n), ensure_ascii=False) for n in (1, 2)).encode("cp1251")
    content = content.replace(b"Aziza", "Азиза".encode("cp1251"))
    message, _out, err = run_refused(tmp_path, content)
    assert "line 1: The line is not UTF-8 text" in err
    assert "Stopped at the batch starting on line 1" in message


def test_the_upsert_costs_the_same_queries_for_ten_new_subjects_as_for_fifty():
    def rows(start, size):
        return [(f"SX{start + n}", subject(0, account_id=f"SX{start + n}")) for n in range(size)]

    subjects_upsert_many(rows=rows(6_000_000, 1), actor=SystemActor("import"), reason="x")  # digest ids looked up
    with CaptureQueriesContext(connection) as small:
        subjects_upsert_many(rows=rows(6_100_000, 10), actor=SystemActor("import"), reason="x")
    with CaptureQueriesContext(connection) as large:
        report = subjects_upsert_many(rows=rows(6_200_000, 25), actor=SystemActor("import"), reason="x")
    assert report.count("created") == 25
    assert len(large) == len(small)


def test_a_subject_named_twice_in_a_batch_is_written_twice_in_order():
    report = subjects_upsert_many(rows=[("SX5000001", subject(1)), ("sx 5000 001", subject(1, full_name="Second"))],
                                  actor=SystemActor("import"), reason="x")
    assert [row.outcome for row in report.outcomes] == ["created", "updated"]
    assert [row.full_name for row in DataSubject.objects.get(account_id="SX5000001").history.order_by("history_id")] \
        == ["Aziza Karimova 1", "Second"]


# --- the line parser ---------------------------------------------------------------------------------------

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                      max_size=3), max_leaves=8)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.dictionaries(st.text(max_size=12), json_values, max_size=5), st.text(min_size=1, max_size=20))
def test_a_json_object_with_an_account_id_reads_back_as_it_was_written(body, account_id):
    body = {**body, "account_id": account_id}
    row = parse_ndjson_line(7, json.dumps(body, ensure_ascii=False))
    if account_id.strip():
        assert row == Row(7, account_id, body)
    else:
        assert isinstance(row, BadRow) and row.line == 7


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_any_bytes_become_rows_or_bad_rows_never_a_crash(data):
    for number, text in physical_lines(io.BytesIO(data)):
        item = text if isinstance(text, BadRow) else parse_ndjson_line(number, text)
        assert item is None or isinstance(item, Row | BadRow)


def test_duplicate_keys_and_non_json_numbers_are_refused():
    assert "given twice" in parse_ndjson_line(1, '{"account_id": "SX5000001", "phone": "1", "phone": "2"}').message
    assert "NaN is not a JSON value" in parse_ndjson_line(1, '{"account_id": "SX5000001", "x": NaN}').message
    assert "nested too deeply" in parse_ndjson_line(1, "[" * 50_000 + "]" * 50_000).message \
        or "not a JSON object" in parse_ndjson_line(1, "[" * 50_000 + "]" * 50_000).message
