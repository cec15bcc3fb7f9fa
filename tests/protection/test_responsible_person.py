"""The person or unit responsible for personal data (arts. 8 and 31 of ZRU-547): who it was on any
day, appointed by which order, and how subjects reach them — on letters and the public register."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from shipex_privacy.protection.models import ResponsiblePerson
from shipex_privacy.protection.services import responsible_person_appoint
from tests.disclosures.test_workflow import second_officer, sent  # noqa: F401 (fixture)
from tests.protection.factories import ResponsiblePersonFactory
from tests.rights_requests.factories import build_package
from tests.rights_requests.test_access_package import access_request, contents
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db

D = datetime.date


def appoint(**values) -> ResponsiblePerson:
    values = {"name": "Dilshod Karimov", "order_number": "47-P", "order_date": D(2026, 1, 12),
              "since": D(2026, 1, 15), "phone": "+998 71 207 00 47", "email": "DPO@shipex.uz", **values}
    return responsible_person_appoint(person=ResponsiblePerson(**values), actor=None, reason="Order of appointment")


@pytest.fixture
def officer_client(client, compliance_officer):
    client.force_login(compliance_officer)
    client.cookies["django_language"] = "en"
    return client


# --- who was responsible when ----------------------------------------------------------------------------


def test_current_picks_the_appointment_of_the_day_and_keeps_the_past_ones():
    first = appoint(name="Bobur Nazarov", order_number="12-P", order_date=D(2024, 2, 1), since=D(2024, 2, 5))
    second = appoint(name="Dilshod Karimov", order_number="47-P", order_date=D(2026, 1, 12), since=D(2026, 1, 15))
    first.refresh_from_db()
    assert first.until == D(2026, 1, 14)  # closed the day before the successor began: no gap, no overlap
    current = ResponsiblePerson.objects.current
    assert current(at=D(2024, 2, 4)) is None  # before anybody was appointed
    assert current(at=D(2024, 2, 5)) == first
    assert current(at=D(2026, 1, 14)) == first
    assert current(at=D(2026, 1, 15)) == second
    assert current() == second
    # A time is the day it was in Tashkent (UTC+5): 20:00 UTC on the 14th is already the 15th there.
    assert current(at=datetime.datetime(2026, 1, 14, 20, 0, tzinfo=datetime.UTC)) == second
    assert ResponsiblePerson.objects.count() == 2
    assert second.email == "dpo@shipex.uz" and second.phone == "+998712070047"


def test_a_successor_must_start_after_the_current_one_and_a_refusal_changes_nothing():
    current = appoint(since=D(2026, 1, 15))
    for since in (D(2026, 1, 15), D(2025, 12, 1)):
        with pytest.raises(ValidationError):
            appoint(name="Too early", order_date=D(2025, 11, 1), since=since)
    current.refresh_from_db()
    assert current.until is None
    assert list(ResponsiblePerson.objects.all()) == [current]


def test_a_past_appointment_may_be_entered_but_not_over_another_one():
    appoint(since=D(2026, 1, 15))
    past = appoint(name="Bobur Nazarov", order_date=D(2024, 2, 1), since=D(2024, 2, 5), until=D(2025, 12, 31))
    assert ResponsiblePerson.objects.current(at=D(2025, 6, 1)) == past
    with pytest.raises(ValidationError, match="overlaps"):
        appoint(name="Overlap", order_date=D(2025, 1, 1), since=D(2025, 6, 1), until=D(2025, 8, 1))


@pytest.mark.parametrize(("values", "message"), [
    ({"phone": "", "email": "", "address": ""}, "reach"),
    ({"order_date": D(2026, 2, 1)}, "order"),
    ({"until": D(2026, 1, 1)}, "end before it began"),
])
def test_an_appointment_needs_a_contact_an_earlier_order_and_a_sane_period(values, message):
    with pytest.raises(ValidationError, match=message):
        appoint(**values)
    assert not ResponsiblePerson.objects.exists()


def test_the_database_holds_one_current_appointment_even_without_the_service():
    ResponsiblePersonFactory(since=D(2026, 1, 15))
    with pytest.raises(IntegrityError), transaction.atomic():
        ResponsiblePersonFactory(since=D(2026, 3, 1), order_date=D(2026, 3, 1))


# --- the admin ------------------------------------------------------------------------------------------


def test_an_officer_appoints_a_successor_in_the_admin_and_the_current_one_is_closed(officer_client):
    current = appoint(since=D(2026, 1, 15))
    response = officer_client.post(reverse("admin:protection_responsibleperson_add"), {
        "kind": "unit", "name": "Personal data protection unit", "position": "Compliance department",
        "order_number": "88-P", "order_date": "2026-06-01", "since": "2026-06-02", "phone": "71 207 00 88",
        "email": "", "address": "", "change_reason": "Order 88-P: the unit takes over",
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    current.refresh_from_db()
    assert current.until == D(2026, 6, 1)
    successor = ResponsiblePerson.objects.get(order_number="88-P")
    assert successor.history.get().history_change_reason == "Order 88-P: the unit takes over"
    assert current.history.first().history_change_reason == "Order 88-P: the unit takes over"

    page = officer_client.get(reverse("admin:protection_responsibleperson_changelist")).content.decode()
    assert "Personal data protection unit" in page and "№ 88-P of" in page
    assert "to be confirmed by counsel" not in page.lower()  # the source note belongs to the record page
    record = officer_client.get(reverse("admin:protection_responsibleperson_change", args=[successor.pk]))
    assert "orders 19-mx and 20-mx" in record.content.decode() and "To be confirmed by counsel" in (
        record.content.decode())


def test_an_officer_cannot_enter_an_earlier_successor_and_is_told_why(officer_client):
    appoint(since=D(2026, 1, 15))
    response = officer_client.post(reverse("admin:protection_responsibleperson_add"), {
        "kind": "person", "name": "Too early", "order_number": "1-P", "order_date": "2025-12-01",
        "since": "2025-12-01", "phone": "+998712070001", "change_reason": "Test",
    })
    assert response.status_code == 200
    assert "Only one responsible person or unit is current at a time" in response.content.decode()
    assert ResponsiblePerson.objects.count() == 1


def test_nobody_deletes_an_appointment(officer_client):
    person = appoint()
    assert officer_client.get(reverse("admin:protection_responsibleperson_delete",
                                      args=[person.pk])).status_code == 403


# --- shown to subjects ---------------------------------------------------------------------------------


def test_the_disclosure_notification_letter_says_who_answers_for_the_data(
        client, compliance_officer, second_officer, support_agent):  # noqa: F811
    appoint(name="Dilshod Karimov", position="Head of the personal data protection unit",
            address="Tashkent, Amir Temur avenue 108")
    subject = DataSubjectFactory(preferred_language="en")
    disclosure = sent(compliance_officer, second_officer, [subject], notify=True)
    client.force_login(support_agent)
    text = client.get(reverse("admin:disclosures_disclosedsubject_notify",
                              args=[disclosure.disclosed_subjects.get().pk])).context["text"]
    assert "At ShipEx, Dilshod Karimov is responsible for the processing of personal data, appointed by order " \
           "№ 47-P of" in text
    assert "Phone: +998 71 207 00 47" in text and "E-mail: dpo@shipex.uz" in text
    assert "Address: Tashkent, Amir Temur avenue 108" in text
    assert "counsel" not in text  # the staff's note never reaches a subject


def test_the_access_copy_names_who_was_responsible_when_it_was_built(support_agent):
    appoint(name="Bobur Nazarov", order_number="12-P", order_date=D(2024, 2, 1), since=D(2024, 2, 5))
    request = access_request(support_agent, DataSubjectFactory(preferred_language="en"))
    _data, html, _names = contents(build_package(request, support_agent))
    assert "Who answers for your personal data" in html and "Bobur Nazarov" in html
    assert 'href="tel:+998712070047"' in html


@pytest.mark.parametrize("language", ["uz", "ru", "en"])
def test_the_public_register_page_shows_who_answers_for_the_data(client, language):
    appoint(email="dpo@shipex.uz", address="Tashkent, Amir Temur avenue 108")
    page = client.get(reverse("consents:cookie_register_html", kwargs={"language": language})).content.decode()
    assert "Dilshod Karimov" in page and "№ 47-P" in page
    assert 'href="mailto:dpo@shipex.uz"' in page and "+998 71 207 00 47" in page
    assert "counsel" not in page.lower() and "19-mx" not in page


def test_the_public_page_shows_no_block_when_nobody_is_appointed(client):
    page = client.get(reverse("consents:cookie_register_html", kwargs={"language": "en"})).content.decode()
    assert "Who answers for your personal data" not in page


def test_markup_in_a_name_is_shown_as_text_on_the_public_page(client):
    appoint(name='<script>alert(1)</script> Karimov')
    page = client.get(reverse("consents:cookie_register_html", kwargs={"language": "en"})).content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; Karimov" in page


def test_a_letter_written_in_code_gets_the_same_paragraph_in_the_subjects_language():
    from shipex_privacy.protection.letters import responsible_person_text

    assert responsible_person_text(language="en") == ""  # nobody appointed: nothing to add
    appoint()
    english, russian = responsible_person_text(language="en"), responsible_person_text(language="ru")
    assert english.startswith("At ShipEx, Dilshod Karimov is responsible") and "+998 71 207 00 47" in english
    assert "Dilshod Karimov" in russian and "+998 71 207 00 47" in russian
    assert responsible_person_text(at=D(2025, 1, 1), language="en") == ""  # before the appointment
