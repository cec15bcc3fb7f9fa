"""Consent import: a file that is damaged, mis-quoted or not what we expect is refused with the line
where it goes wrong, through the web form and the command alike, and nothing from it is recorded."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from shipex_privacy.consents.models import Consent, ConsentEvent
from shipex_privacy.consents.services import consent_import, import_file_lines
from tests.consents.factories import PolicyVersionFactory
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db

HEADER = "account_id,purpose,action,occurred_at,channel,policy_version,evidence_reference\n"
GOOD = "SX4000001,1.3.2.5,grant,2026-11-01T10:00:00+05:00,app,2026.1,APP-1\n"
WITHDRAW = "SX4000001,1.3.2.5,withdraw,2026-11-20T09:00:00+05:00,app,,APP-2\n"


def grant(**values) -> str:
    """A grant row of HEADER's columns, with some values replaced."""
    row = {"account_id": "SX4000001", "purpose": "1.3.2.5", "action": "grant",
           "occurred_at": "2026-11-02T10:00:00+05:00", "channel": "app", "policy_version": "2026.1",
           "evidence_reference": "APP-3", **values}
    return ",".join(row.values()) + "\n"


# (what is wrong, the file, the line it is refused at, words of the refusal). Every file but the
# unreadable ones holds a good row first, which must not be recorded either.
BAD_FILES = [
    ("short row", HEADER + GOOD + "SX4000001,1.3.2.5,grant\n", 3, "3 values where the header has 7 columns"),
    ("long row", HEADER + GOOD + grant().rstrip("\n") + ",extra\n", 3, "8 values where the header has 7"),
    ("unclosed quote", HEADER + GOOD + 'SX4000001,"1.3.2.5,grant,2026-11-02T10:00:00+05:00,app,2026.1,A\n'
     + WITHDRAW, 3, "never closed"),
    ("text after a closing quote", HEADER + GOOD + grant(purpose='"1.3.2.5"x'), 3, "is not valid CSV"),
    ("field over 131,072 characters", HEADER + GOOD + grant(evidence_reference="x" * 131_073), 3,
     "longer than 131072 characters"),
    ("NUL byte", HEADER + GOOD + grant(account_id="SX4000001\x00"), 3, "NUL character"),
    ("NUL byte in a quoted value", HEADER + GOOD + grant(evidence_reference='"A\x00B"'), 3, "NUL character"),
    ("empty file", "", 1, "The file is empty"),
    ("blank lines only", "\n\r\n\n", 1, "The file is empty"),
    ("header only", HEADER, 1, "The file has no rows below its header"),
    ("header and blank lines", HEADER + "\n\n", 1, "The file has no rows below its header"),
    ("duplicate column", HEADER.replace("evidence_reference", "action") + GOOD, 1,
     "Columns named more than once: action"),
    ("missing column", HEADER.replace(",channel", "") + GOOD, 1, "Columns missing: channel"),
    ("unknown column", HEADER.replace("evidence_reference", "phone") + GOOD, 1, "not understood: phone"),
    ("header is not a header", "SX4000001,1.3.2.5\n", 1, "Columns missing"),
    ("not an account id", HEADER + GOOD + grant(account_id="<b>x</b>"), 3, "is not a ShipEx account id"),
    ("year 1", HEADER + GOOD + grant(occurred_at="0001-01-01T00:00:00+05:00"), 3, "not a plausible date"),
    ("year 9999 term", HEADER.replace("evidence_reference", "expires_at") + GOOD.replace("APP-1", "")
     + grant(evidence_reference="9999-12-31T23:59:59-05:00"), 3, "not a plausible date"),
    ("offset over 24 hours", HEADER + GOOD + grant(occurred_at="2026-11-02T10:00:00+25:00"), 3,
     "is not a date and time"),
    ("31 February", HEADER + GOOD + grant(occurred_at="2026-02-31T10:00:00+05:00"), 3, "is not a date and time"),
    ("evidence too long for its column", HEADER + GOOD + WITHDRAW.replace("APP-2", "x" * 201), 3,
     "at most 200 characters"),
    ("unknown recipient kind", HEADER.replace("evidence_reference", "recipient_kind") + GOOD.replace("APP-1", "")
     + grant(evidence_reference="x" * 40), 3, "is not a valid choice"),
    ("not an IP address", HEADER.replace("evidence_reference", "ip_address") + GOOD.replace("APP-1", "")
     + WITHDRAW.replace("APP-2", "999.1.1.1"), 3, "IP"),
]
# Files that are not UTF-8 text: refused before any row is read.
BAD_ENCODINGS = [
    ("Windows-1251", (HEADER + GOOD).encode() + "SX4000001,Жалоба\n".encode("cp1251"), "Line 3 is not UTF-8"),
    ("UTF-16 from Excel", (HEADER + GOOD).encode("utf-16"), "Line 1 is not UTF-8"),
    ("cut in the middle of a letter", (HEADER + GOOD).encode() + "Oʻ".encode()[:-1], "Line 3 is not UTF-8"),
    ("Latin-1", HEADER.encode() + "SX4000001,Qarshi, Mirzo Ulugʻbek kʻchasi".encode()
     + "é".encode("latin-1"), "Line 2 is not UTF-8"),
]


@pytest.fixture
def ready(db):
    PolicyVersionFactory(published=True, version="2026.1")
    DataSubjectFactory(account_id="SX4000001")


def nothing_recorded() -> bool:
    return not ConsentEvent.objects.exists() and not Consent.objects.exists() and not Consent.history.exists()


def through_the_web(client, content: bytes) -> str:
    response = client.post(reverse("admin:consents_consent_import"), {"file": SimpleUploadedFile("c.csv", content)})
    assert response.status_code == 200
    report = response.context["report"]
    said = [f"line {line}: {message}" for line, message in (report.errors if report else [])]
    said += [f"form: {message}" for message in response.context["form"].errors.get("file", [])]
    if report:
        assert not report.recorded
    return "\n".join(said)


def through_the_command(tmp_path, actor, content: bytes) -> str:
    path = tmp_path / "consents.csv"
    path.write_bytes(content)
    stderr = io.StringIO()
    with pytest.raises(CommandError) as refusal:
        call_command("import_consents", str(path), actor=actor.username, stderr=stderr)
    return stderr.getvalue() + str(refusal.value)


@pytest.mark.parametrize("way", ["web", "command"])
@pytest.mark.parametrize(("problem", "content", "line", "words"), BAD_FILES, ids=[case[0] for case in BAD_FILES])
def test_a_bad_file_is_refused_at_its_line_and_nothing_is_recorded(
    client, tmp_path, ready, support_agent, way, problem, content, line, words
):
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    data = content.encode()
    said = through_the_web(client, data) if way == "web" else through_the_command(tmp_path, support_agent, data)
    assert f"line {line}: " in said and words in said, said[:500]
    assert nothing_recorded()


@pytest.mark.parametrize("way", ["web", "command"])
@pytest.mark.parametrize(("problem", "content", "words"), BAD_ENCODINGS, ids=[case[0] for case in BAD_ENCODINGS])
def test_a_file_that_is_not_utf8_is_refused_with_the_line(client, tmp_path, ready, support_agent, way, problem,
                                                           content, words):
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    said = through_the_web(client, content) if way == "web" else through_the_command(tmp_path, support_agent, content)
    assert words in said, said
    assert nothing_recorded()


def test_the_same_file_fixed_is_recorded(client, ready, support_agent):
    """The table above is not refusing everything: its good rows, alone, go in."""
    client.force_login(support_agent)
    content = "\ufeff" + HEADER + GOOD.replace("SX4000001", "sx 4000 001") + WITHDRAW  # BOM, id typed loosely
    response = client.post(reverse("admin:consents_consent_import"),
                           {"file": SimpleUploadedFile("c.csv", content.encode())})
    report = response.context["report"]
    assert (report.recorded, report.granted, report.withdrawn) == (True, 1, 1)
    assert ConsentEvent.objects.count() == 2


def test_a_quoted_value_may_hold_commas_quotes_and_line_breaks_and_lines_are_still_counted(ready, support_agent):
    evidence = 'Call 17, "urgent"\nsecond line\u2028third\x1cfourth'
    quoted = '"' + evidence.replace('"', '""') + '"'
    content = HEADER + grant(evidence_reference=quoted) + grant(account_id="SX0000000")
    report = consent_import(lines=import_file_lines(content.encode()), actor=support_agent)
    # The first record spans lines 2 and 3 (\u2028 and \x1c do not end a CSV line); the second starts on line 4.
    assert report.errors == [(4, "No subject with account id SX0000000.")]
    report = consent_import(lines=import_file_lines((HEADER + grant(evidence_reference=quoted)).encode()),
                            actor=support_agent)
    assert report.recorded
    assert ConsentEvent.objects.get().evidence_reference == evidence


def test_every_bad_row_is_named_not_only_the_first(ready, support_agent):
    content = HEADER + GOOD + "SX4000001,1.3.2.5\n" + grant(account_id="SX\x00") + grant(channel="fax") + WITHDRAW
    report = consent_import(lines=import_file_lines(content.encode()), actor=support_agent)
    assert [line for line, _message in report.errors] == [3, 4, 5]
    assert nothing_recorded()


def test_the_command_names_a_file_it_cannot_open(tmp_path, support_agent):
    with pytest.raises(CommandError, match=r"Cannot read .*No such file"):
        call_command("import_consents", str(tmp_path / "missing.csv"), actor=support_agent.username)


def test_the_command_says_a_refused_file_is_refused_as_a_file(tmp_path, support_agent):
    said = through_the_command(tmp_path, support_agent, b"")
    assert "The file is empty." in said
    assert "The file cannot be imported as it is; nothing was recorded." in said and "row(s)" not in said
