"""Localisation (ZRU-547 art. 27-1, 2026), systems abroad and the state register (art. 20)."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import IntegrityError, transaction
from django.urls import reverse

from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.checks import check_localisation
from shipex_privacy.catalogue.models import PersonalDataField, System
from tests.catalogue.factories import PersonalDataFieldFactory, SystemFactory
from tests.protection.factories import MeasureFactory

pytestmark = pytest.mark.django_db

ABROAD = {"transfer_mechanism": "standard_clauses", "transfer_reference": "SCC agreement FT-2026/7",
          "transfer_date": date(2026, 5, 4)}


@pytest.fixture
def frankfurt():
    return SystemFactory(code="face-match", name="Face matching service", country="DE", **ABROAD)


def test_a_biometric_entry_held_abroad_fails_the_check_naming_entry_and_system(frankfurt):
    PersonalDataFieldFactory(code="document.face_template", sensitivity="biometric", system=frankfurt)
    errors = check_localisation(databases=["default"])
    assert [error.id for error in errors] == ["catalogue.E006"]
    assert "document.face_template" in errors[0].msg and "face-match" in errors[0].msg and "DE" in errors[0].msg
    with pytest.raises(SystemCheckError, match=r"catalogue\.E006"):
        call_command("check", databases=["default"])


def test_a_genetic_entry_stored_abroad_in_a_home_system_fails_too():
    PersonalDataFieldFactory(code="identity.dna_profile", sensitivity="genetic", storage_country="KZ")
    assert [error.id for error in check_localisation(databases=["default"])] == ["catalogue.E006"]


def test_biometric_data_at_home_and_general_data_abroad_pass(frankfurt):
    PersonalDataFieldFactory(code="document.face_template", sensitivity="biometric")
    PersonalDataFieldFactory(code="technical.crash_reports", sensitivity="general", system=frankfurt)
    assert check_localisation(databases=["default"]) == []
    assert check_localisation(databases=None) == []  # without a database the check waits


def test_the_form_refuses_biometric_data_in_a_system_abroad(frankfurt):
    entry = PersonalDataFieldFactory.build(code="document.face_template", sensitivity="biometric", system=frankfurt)
    with pytest.raises(ValidationError, match="must stay in Uzbekistan"):
        entry.full_clean()


def test_a_system_holding_biometric_data_cannot_move_abroad(compliance_officer):
    app = System.objects.get(code="shipex-app")  # holds the seeded face photo
    app.country, app.transfer_mechanism = "DE", "standard_clauses"
    app.transfer_reference, app.transfer_date = "SCC", date(2026, 5, 4)
    with pytest.raises(ValidationError, match=r"document\.face_photo"):
        record_save(instance=app, actor=compliance_officer, reason="Moving to Frankfurt")


def test_must_stay_in_uzbekistan_is_biometric_and_genetic_only():
    assert set(PersonalDataField.objects.must_stay_in_uzbekistan().values_list("sensitivity", flat=True)) == {
        "biometric"}
    assert PersonalDataField.objects.get(code="document.face_photo").must_stay_in_uzbekistan
    assert not PersonalDataField.objects.get(code="document.passport").must_stay_in_uzbekistan


def test_the_database_refuses_a_system_abroad_without_a_mechanism():
    with transaction.atomic(), pytest.raises(IntegrityError):
        System.objects.create(code="cdn", name="CDN", owner="Web team", country="NL")


def test_a_system_abroad_needs_mechanism_reference_and_date_in_the_form(compliance_officer):
    system = SystemFactory.build(code="cdn", name="CDN", country="NL", transfer_mechanism="standard_clauses")
    with pytest.raises(ValidationError) as refused:
        record_save(instance=system, actor=compliance_officer, reason="New CDN")
    assert set(refused.value.message_dict) == {"transfer_reference", "transfer_date"}
    assert not System.objects.filter(code="cdn").exists()


def test_the_seeded_counter_system_abroad_names_its_mechanism_and_its_source():
    counters = System.objects.get(code="web-analytics")
    assert counters.transfer_mechanism == "subject_consent"
    assert "ZRU-1125" in counters.transfer_reference and "to be confirmed by counsel" in counters.transfer_reference
    # Not the latest row: catalogue 0009 gave the system its Uzbek and Russian names since.
    recorded = "Cross-border transfer mechanism recorded"
    assert counters.history.filter(history_change_reason__startswith=recorded).exists()


def test_registration_is_required_where_data_must_stay_in_uzbekistan():
    required = set(System.objects.registration_required().values_list("code", flat=True))
    assert required == {"shipex-app"}  # the seeded face photo is biometric
    assert System.objects.get(code="shipex-app").registration_required
    assert not System.objects.get(code="tms").registration_required
    genetic = PersonalDataFieldFactory(code="identity.dna_profile", sensitivity="genetic")
    assert genetic.system.registration_required
    assert genetic.system in System.objects.registration_missing()


def test_a_registered_system_is_no_longer_missing(compliance_officer):
    app = System.objects.get(code="shipex-app")
    assert app in System.objects.registration_missing()
    app.registration_number, app.registered_on = "BD-000417", date(2026, 6, 1)
    record_save(instance=app, actor=compliance_officer, reason="Entered in the state register")
    assert app not in System.objects.registration_missing()
    assert app.history.latest().registration_number == "BD-000417"


def test_a_register_number_without_its_date_is_refused_by_the_database():
    app = System.objects.get(code="shipex-app")
    app.registration_number = "BD-000417"
    with transaction.atomic(), pytest.raises(IntegrityError):
        app.save()


def test_the_notification_page_shows_what_the_register_asks_for(client, compliance_officer, settings):
    settings.SHIPEX_OPERATOR_NAME, settings.SHIPEX_OPERATOR_TIN = "“ShipEx Logistics” MChJ", "301234567"
    MeasureFactory(title="Access to the face photos by role only")
    app = System.objects.get(code="shipex-app")
    client.force_login(compliance_officer)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("admin:catalogue_system_notification", args=[app.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    for expected in ("“ShipEx Logistics” MChJ", "301234567", "ShipEx app and accounts", "1.3.2.1",
                     "Face photo for identity checks at pick-up points", "Users of ShipEx services", "UZ",
                     "Access to the face photos by role only", "not registered yet", "to be confirmed by counsel"):
        assert expected in text, expected


def test_the_notification_page_works_without_the_operator_settings(client, compliance_officer, settings):
    for name in ("SHIPEX_OPERATOR_NAME", "SHIPEX_OPERATOR_TIN"):
        if hasattr(settings, name):
            delattr(settings, name)
    client.force_login(compliance_officer)
    page = client.get(reverse("admin:catalogue_system_notification", args=[System.objects.get(code="tms").pk]))
    assert page.status_code == 200


def test_support_agents_cannot_open_the_notification(client, support_agent):
    client.force_login(support_agent)
    page = client.get(reverse("admin:catalogue_system_notification", args=[System.objects.get(code="shipex-app").pk]))
    assert page.status_code == 403


def test_the_auditor_reads_the_notification(client, auditor):
    client.force_login(auditor)
    page = client.get(reverse("admin:catalogue_system_notification", args=[System.objects.get(code="shipex-app").pk]))
    assert page.status_code == 200


def test_the_systems_list_filters_by_missing_registration(client, compliance_officer, django_assert_max_num_queries):
    client.force_login(compliance_officer)
    url = reverse("admin:catalogue_system_changelist")
    with django_assert_max_num_queries(15):
        page = client.get(url, {"registration": "missing"})
    assert [system.code for system in page.context["cl"].result_list] == ["shipex-app"]
    assert reverse("admin:catalogue_system_notification", args=[System.objects.get(code="shipex-app").pk]) in (
        page.content.decode())


def test_the_catalogue_filters_by_must_stay_in_uzbekistan(client, compliance_officer):
    client.force_login(compliance_officer)
    page = client.get(reverse("admin:catalogue_personaldatafield_changelist"), {"must_stay": "yes"})
    assert [entry.code for entry in page.context["cl"].result_list] == ["document.face_photo"]
