"""The compliance team keeps the catalogue in the admin; its decisions are kept in history."""

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import translation

from shipex_privacy.catalogue.models import PersonalDataField, Purpose, RetentionRule
from tests.audit.page_forms import page_version
from tests.catalogue.factories import PersonalDataFieldFactory, RetentionRuleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer_client(client, compliance_officer):
    client.force_login(compliance_officer)
    client.cookies["django_language"] = "en"
    return client


def entry_form(entry: PersonalDataField, **overrides) -> dict:
    values = {
        "code": entry.code, "category": entry.category, "name_uz": entry.name_uz, "name_ru": entry.name_ru,
        "name_en": entry.name_en, "description": entry.description, "requirement": entry.requirement,
        "collection_method": entry.collection_method, "sensitivity": entry.sensitivity,
        "identifies_alone": "on" if entry.identifies_alone else "",
        "purposes": [purpose.pk for purpose in entry.purposes.all()],
        "retention_rule": entry.retention_rule_id, "system": entry.system_id,
        "storage_country": entry.storage_country, "binding": entry.binding, "masking": entry.masking,
        "change_reason": "",
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value != ""}


def test_making_a_field_optional_is_a_recorded_decision(officer_client, compliance_officer):
    entry = PersonalDataField.objects.get(code="identity.full_name")
    url = reverse("admin:catalogue_personaldatafield_change", args=[entry.pk])

    response = officer_client.post(url, entry_form(entry, requirement="optional"))
    assert "change_reason" in response.context["adminform"].form.errors
    entry.refresh_from_db()
    assert entry.requirement == "mandatory"

    reason = "DPO decision 2026-11: name optional for pick-up point customers"
    response = officer_client.post(url, entry_form(entry, requirement="optional", change_reason=reason,
                                                   **page_version(officer_client, entry)))
    assert response.status_code == 302
    latest = entry.history.latest()
    assert (latest.requirement, latest.history_change_reason, latest.history_username) == (
        "optional", reason, compliance_officer.username
    )
    assert latest.prev_record.requirement == "mandatory"


def test_changing_purposes_is_in_history(officer_client):
    entry = PersonalDataField.objects.get(code="contact.email")
    advertising = Purpose.objects.get(clause="1.3.2.5")
    url = reverse("admin:catalogue_personaldatafield_change", args=[entry.pk])
    purposes = [purpose.pk for purpose in entry.purposes.exclude(pk=advertising.pk)]
    response = officer_client.post(url, entry_form(entry, purposes=purposes, change_reason="No e-mail advertising",
                                                   **page_version(officer_client, entry)))
    assert response.status_code == 302
    latest = entry.history.latest()
    assert advertising.pk not in [row.purpose_id for row in latest.purposes.all()]
    assert advertising.pk in [row.purpose_id for row in latest.prev_record.purposes.all()]


def test_a_bound_entry_cannot_be_deleted_and_the_page_says_why(officer_client):
    entry = PersonalDataField.objects.get(code="contact.phone")
    url = reverse("admin:catalogue_personaldatafield_delete", args=[entry.pk])
    page = officer_client.get(url).content.decode()
    assert "contact.phone is bound to subjects.DataSubject.phone" in page
    officer_client.post(url, {"post": "yes"})
    assert PersonalDataField.objects.filter(pk=entry.pk).exists()
    with pytest.raises(ProtectedError):
        entry.delete()


def test_an_unused_unbound_entry_can_be_deleted_and_history_keeps_it(officer_client):
    entry = PersonalDataFieldFactory(code="contact.fax")
    url = reverse("admin:catalogue_personaldatafield_delete", args=[entry.pk])
    assert officer_client.post(url, {"post": "yes"}).status_code == 302
    assert not PersonalDataField.objects.filter(pk=entry.pk).exists()
    assert PersonalDataField.history.filter(id=entry.pk).latest().history_type == "-"


def test_a_purpose_in_use_cannot_be_deleted_and_the_page_names_the_fields(officer_client):
    purpose = Purpose.objects.get(clause="1.3.2.5")
    page = officer_client.get(reverse("admin:catalogue_purpose_delete", args=[purpose.pk])).content.decode()
    assert "Purpose 1.3.2.5 is served by catalogue entries" in page
    assert "contact.email" in page
    officer_client.post(reverse("admin:catalogue_purpose_delete", args=[purpose.pk]), {"post": "yes"})
    assert Purpose.objects.filter(pk=purpose.pk).exists()


def test_a_retention_rule_in_use_cannot_be_deleted(officer_client):
    rule = RetentionRule.objects.get(code="customs-5y")
    officer_client.post(reverse("admin:catalogue_retentionrule_delete", args=[rule.pk]), {"post": "yes"})
    assert RetentionRule.objects.filter(pk=rule.pk).exists()


def test_statutory_retention_needs_its_legal_reference_in_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        RetentionRuleFactory(is_statutory=True, legal_reference="")


def test_statutory_retention_form_says_what_is_missing(officer_client):
    response = officer_client.post(
        reverse("admin:catalogue_retentionrule_add"),
        {"code": "tax-5y", "name_uz": "Soliq", "name_ru": "Налоги", "name_en": "Tax", "period": "5",
         "unit": "years", "clock_starts": "collected", "end_action": "delete", "is_statutory": "on"},
    )
    with translation.override("en"):
        assert "Mandatory retention needs the legal reference" in response.content.decode()
    assert not RetentionRule.objects.filter(code="tax-5y").exists()


def test_a_binding_must_name_a_real_field(officer_client):
    entry = PersonalDataFieldFactory(code="contact.fax")
    url = reverse("admin:catalogue_personaldatafield_change", args=[entry.pk])
    response = officer_client.post(
        url, entry_form(entry, binding="subjects.DataSubject.fax", change_reason="Bind the fax")
    )
    assert "binding" in response.context["adminform"].form.errors
    entry.refresh_from_db()
    assert entry.binding == ""


def test_how_a_value_is_masked_is_a_recorded_decision_of_a_bound_entry(officer_client, compliance_officer):
    entry = PersonalDataField.objects.get(code="identity.birth_date")
    url = reverse("admin:catalogue_personaldatafield_change", args=[entry.pk])
    reason = "DPO decision 2026-12: birth dates are read masked"
    assert officer_client.post(url, entry_form(entry, masking="text", change_reason=reason,
                                              **page_version(officer_client, entry))).status_code == 302
    latest = entry.history.latest()
    assert (latest.masking, latest.history_change_reason) == ("text", reason)

    unbound = PersonalDataFieldFactory(code="contact.fax")
    url = reverse("admin:catalogue_personaldatafield_change", args=[unbound.pk])
    response = officer_client.post(url, entry_form(unbound, masking="phone", change_reason="Mask the fax",
                                                   **page_version(officer_client, unbound)))
    assert "Only a field bound to this back office" in " ".join(response.context["adminform"].form.errors["masking"])
    unbound.refresh_from_db()
    assert unbound.masking == ""


def test_seeded_catalogue_has_its_history_from_the_start():
    entry = PersonalDataField.objects.get(code="contact.phone")
    created = entry.history.earliest()
    assert created.history_type == "+"
    assert created.history_change_reason.startswith("Seeded catalogue")
    assert sorted(row.purpose.clause for row in created.purposes.all()) == ["1.3.2.1", "1.3.2.2", "1.3.2.3"]
    assert Purpose.objects.count() == 6
    assert PersonalDataField.objects.filter(collection_method="1.2.1.2").count() >= 7


def test_names_answer_in_the_active_language():
    entry = PersonalDataField.objects.get(code="document.pinfl")
    with translation.override("uz"):
        assert entry.name == "JShShIR"
    with translation.override("ru"):
        assert entry.name == "ПИНФЛ"
