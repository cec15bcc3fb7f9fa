"""Property test of the consent import: whatever bytes a file holds, the answer is a clean refusal of
the file or a report — refused rows by line number and nothing recorded, or every row recorded —
never another exception.

Run with ``--hypothesis-show-statistics`` to see how many files were tried and how each ended.
"""

import csv
import io
from datetime import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from shipex_privacy.consents.models import Channel, Consent, ConsentEvent
from shipex_privacy.consents.services import IMPORT_COLUMNS, consent_import, import_file_lines
from tests.consents.factories import PolicyVersionFactory
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db

EXAMPLES = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
ACCOUNTS = ("SX4000001", "SX4000002")

# For each column: values that are right, and values near them that are wrong.
def tashkent(moment: datetime) -> str:
    return moment.isoformat() + "+05:00"


instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 11, 30))
moments = instants.map(tashkent)
RIGHT = {
    "account_id": st.sampled_from([*ACCOUNTS, "sx4000001", " SX4000002 "]),
    "purpose": st.just("1.3.2.5"),
    "action": st.sampled_from(["grant", "withdraw", "GRANT"]),
    "occurred_at": moments,
    "channel": st.sampled_from(Channel.values),
    "policy_version": st.just("2026.1"),
    "expires_at": st.sampled_from(["", "2099-11-02T10:00:00+05:00"]),
    "recipient_kind": st.sampled_from(["", "processor"]),
    "ip_address": st.sampled_from(["", "213.230.10.20", "::1"]),
    "user_agent": st.sampled_from(["", "ShipEx/5.2", "x" * 500]),
    "evidence_reference": st.sampled_from(["", "APP-1", 'Call 17, "urgent"\nsecond line']),
}
WRONG = {
    "account_id": st.sampled_from(["SX0000000", "SX4000001\x00"]),
    "purpose": st.sampled_from(["1.3.2.2", "9.9"]),
    "action": st.sampled_from(["revoke", ""]),
    "occurred_at": st.sampled_from(["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "2026-02-31T10:00",
                                    "01.11.2026", "2026-11-01T10:00:00+25:00"]),
    "channel": st.just("fax"),
    "policy_version": st.sampled_from(["1999.9", ""]),
    "expires_at": st.sampled_from(["2020-01-01T00:00:00+05:00", "9999-12-31T23:59:59-14:00", "soon"]),
    "recipient_kind": st.just("x" * 40),
    "ip_address": st.just("999.1.1.1"),
    "user_agent": st.just("\x00"),
    "evidence_reference": st.just("x" * 201),
}
breaking = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["\x00", '"', '""', 'a"b', "a,b", "line\nbreak", "\r", "\u2028", "\ufeff", "x" * 131_073]),
)
columns = st.sampled_from([*IMPORT_COLUMNS, "phone", "", " action "])


@st.composite
def csv_files(draw) -> bytes:
    clean = draw(st.booleans())  # a file from the app, or one that went through somebody's hands
    if clean or draw(st.booleans()):
        header = list(draw(st.permutations(IMPORT_COLUMNS)))[: draw(st.integers(5, len(IMPORT_COLUMNS)))]
    else:
        header = draw(st.lists(columns, max_size=12))
    rows = []
    for _ in range(draw(st.integers(0, 4))):
        width = len(header) + (0 if clean else draw(st.sampled_from([0, 0, 0, -1, 1])))
        row = []
        for i in range(max(width, 0)):
            name = header[i].strip() if i < len(header) else ""
            if name in RIGHT and (clean or draw(st.booleans())):
                wrong = draw(st.integers(0, 19)) == 0
                row.append(draw(WRONG[name] if wrong else RIGHT[name]))
            else:
                row.append(draw(breaking))
        rows.append(row)
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    if clean or draw(st.booleans()):  # written by a CSV writer: quoting is right, the values may not be
        out = io.StringIO()
        csv.writer(out, lineterminator=ending).writerows([header, *rows])
        text = out.getvalue()
    else:  # glued together by hand: quotes and commas as they fall
        text = "".join(",".join(row) + ending for row in [header, *rows])
    data = draw(st.sampled_from(["", "\ufeff"])).encode() + text.encode()
    if not clean and draw(st.integers(0, 9)) == 0:  # a damaged byte somewhere
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\x00", b"\xd0\x96"])) + data[at:]
    return data


@st.composite
def app_files(draw) -> tuple[bytes, bool]:
    """A file as the app exports it: each account's grants and withdrawals alternate, in time order.
    Now and then one value is wrong; the answer says whether the file should be recorded."""
    header = draw(st.permutations(IMPORT_COLUMNS))
    in_force = dict.fromkeys(ACCOUNTS, False)
    rows, right = [], True
    for moment in sorted(draw(st.lists(instants, min_size=1, max_size=6, unique=True))):
        account = draw(st.sampled_from(ACCOUNTS))
        values = {name: draw(RIGHT[name]) for name in header}
        values.update(
            account_id=draw(st.sampled_from([account, account.lower(), f" {account} "])),
            action=draw(st.sampled_from(["withdraw", "WITHDRAW"] if in_force[account] else ["grant", "Grant"])),
            occurred_at=tashkent(moment), recipient_kind="",
        )
        in_force[account] = not in_force[account]
        if draw(st.integers(0, 9)) == 0:
            name = draw(st.sampled_from(sorted(set(WRONG) - {"recipient_kind"})))
            if name not in ("policy_version", "expires_at") or values["action"].lower() == "grant":
                values[name], right = draw(WRONG[name]), False
        rows.append([values[name] for name in header])
    out = io.StringIO()
    csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))).writerows([header, *rows])
    return out.getvalue().encode(), right


unknown = st.one_of(st.binary(max_size=500), st.text(max_size=500).map(str.encode), csv_files())
files = st.one_of(unknown.map(lambda data: (data, None)), app_files())


@pytest.fixture
def actor(support_agent):
    PolicyVersionFactory(published=True, version="2026.1")
    for account in ACCOUNTS:
        DataSubjectFactory(account_id=account)
    return support_agent


def recorded_state() -> tuple[int, int, int]:
    return ConsentEvent.objects.count(), Consent.objects.count(), Consent.history.count()


@EXAMPLES
@given(file=files)
def test_any_file_gives_a_clean_refusal_or_a_whole_import(actor, file):
    # Each file meets the same ledger: what one recorded is rolled back before the next.
    with transaction.atomic():
        check_import(actor, *file)
        transaction.set_rollback(True)


def check_import(actor, data: bytes, right: bool | None) -> None:
    before = recorded_state()
    try:
        lines = import_file_lines(data)
    except ValidationError as refusal:
        assert refusal.messages and refusal.messages[0].startswith("Line ")
        assert recorded_state() == before
        event("file refused: not UTF-8")
        return
    report = consent_import(lines=lines, actor=actor)
    for line, message in report.errors:
        assert isinstance(line, int) and 1 <= line <= max(len(lines), 1), (line, len(lines))
        assert isinstance(message, str) and message.strip()
    if report.errors:
        assert not report.recorded and (report.granted, report.withdrawn) == (0, 0)
        assert recorded_state() == before, "a refused file left something recorded"
        assert right is not True, report.errors
        event("rows refused, nothing recorded")
    else:
        assert report.recorded and report.granted + report.withdrawn == report.rows
        assert recorded_state()[0] - before[0] == report.rows
        assert right is not False, "a file with a wrong value was recorded"
        event("every row recorded")
