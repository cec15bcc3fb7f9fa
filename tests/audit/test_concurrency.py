"""Versions, not last-write-wins: a change page built before somebody else's save cannot undo it.

Every admin built on AuditedAdmin gets this from the shared base, so the walk covers them all:
the page carries the version it was built from, and a save from a page that is no longer current
is a form error naming what changed since and by whom, with nothing saved.
"""

from datetime import date

import pytest
from django.contrib import admin
from django.urls import reverse

from shipex_privacy.audit.admin import VERSION_FIELD, AuditedAdmin
from shipex_privacy.audit.models import TrailEntry
from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.models import PersonalDataField
from shipex_privacy.disclosures.models import PublicChoice
from tests.accounts.factories import StaffFactory
from tests.audit.page_forms import change_form_values
from tests.consents.factories import PolicyVersionFactory
from tests.disclosures.factories import DisclosureFactory, RecipientFactory
from tests.protection.factories import IncidentFactory, MeasureFactory
from tests.retention.factories import LegalHoldFactory
from tests.rights_requests.factories import SubjectRequestFactory
from tests.subjects.factories import AddressFactory, DataSubjectFactory

pytestmark = pytest.mark.django_db

STALE = "Somebody saved this record after you opened the page"
# The admins issue 10 names; the walk covers every AuditedAdmin, these must be among them.
MUST_BE_WALKED = {
    "subjects.DataSubject", "rights_requests.SubjectRequest", "disclosures.Disclosure",
    "catalogue.PersonalDataField", "disclosures.Recipient", "rights_requests.ResponseTemplate",
    "protection.Measure", "protection.Incident",
}  # a legal hold is never edited in a form; its one change, the release, is tested below


@pytest.fixture
def records():
    subject = DataSubjectFactory()
    AddressFactory(subject=subject)
    PublicChoice.objects.create(subject=subject, field=PersonalDataField.objects.get(code="contact.phone"),
                                made_public_on=date(2026, 1, 5), evidence="Telegram channel of the shop")
    PolicyVersionFactory()
    RecipientFactory()
    DisclosureFactory(fields=PersonalDataField.objects.filter(code="contact.phone"))
    SubjectRequestFactory()
    MeasureFactory()
    IncidentFactory()
    LegalHoldFactory()


@pytest.fixture
def officer_client(client):
    client.force_login(StaffFactory(username="malika", is_superuser=True))
    client.cookies["django_language"] = "en"
    return client


def audited_admins():
    return sorted(((model, model_admin) for model, model_admin in admin.site._registry.items()
                   if isinstance(model_admin, AuditedAdmin)), key=lambda item: item[0]._meta.label)


def history_count(obj) -> int:
    return TrailEntry.objects.filter(model=obj._meta.label_lower, object_id=str(obj.pk)).count()


def open_page(client, obj):
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    response = client.get(url)
    assert response.status_code == 200, obj._meta.label
    return url, change_form_values(response)


def test_every_audited_change_page_refuses_a_save_built_on_an_older_version(officer_client, records):
    colleague = StaffFactory(username="jasur")
    walked, not_writable = set(), []
    for model, _model_admin in audited_admins():
        obj = model._base_manager.order_by("pk").first()
        label = model._meta.label
        if obj is None:
            not_writable.append(f"{label} (none)")
            continue
        url, values = open_page(officer_client, obj)
        if VERSION_FIELD not in values:  # a page that offers no save (read only for everybody)
            not_writable.append(label)
            continue
        assert values[VERSION_FIELD][0], label
        values["change_reason"] = ["Checking the record against the contract"]

        # Nothing saved in between: the page saves (the values are what the form needs).
        response = officer_client.post(url, values)
        assert response.status_code == 302, (label, response.context and response.context["adminform"].form.errors)

        url, values = open_page(officer_client, obj)
        values["change_reason"] = ["Checking the record against the contract"]
        record_save(instance=model._base_manager.get(pk=obj.pk), actor=colleague, reason="Colleague's correction")
        before = history_count(obj)

        response = officer_client.post(url, values)

        assert response.status_code == 200, label
        errors = " ".join(response.context["adminform"].form.non_field_errors())
        assert STALE in errors and "jasur" in errors and "Colleague's correction" in errors, (label, errors)
        assert history_count(obj) == before, label  # nothing saved
        walked.add(label)
    assert walked >= MUST_BE_WALKED, (MUST_BE_WALKED - walked, not_writable)


def stale_error(response) -> str:
    assert response.status_code == 200
    return " ".join(response.context["adminform"].form.non_field_errors())


def test_two_agents_on_the_same_page_the_second_is_told_who_saved_first(client):
    subject = DataSubjectFactory(full_name="Karimov Aziz")
    first, second = StaffFactory(username="jasur", is_superuser=True), StaffFactory(username="dilnoza",
                                                                                  is_superuser=True)
    client.cookies["django_language"] = "en"  # the refusal is read as English; Uzbek is the default
    client.force_login(first)
    url, page_of_first = open_page(client, subject)
    client.force_login(second)
    _url, page_of_second = open_page(client, subject)

    client.force_login(first)
    page_of_first.update(full_name=["Karimov Aziz Rustamovich"], change_reason=["DSR #12: full name"])
    assert client.post(url, page_of_first).status_code == 302
    client.force_login(second)
    page_of_second.update(full_name=["Karimova Aziza"], change_reason=["DSR #13: typo"])
    errors = stale_error(client.post(url, page_of_second))

    assert STALE in errors and "jasur" in errors and "DSR #12: full name" in errors
    subject.refresh_from_db()
    assert subject.full_name == "Karimov Aziz Rustamovich"


@pytest.mark.parametrize("colleague_does", ["changes the address", "adds an address", "deletes the address"])
def test_a_change_to_an_address_elsewhere_refuses_the_subjects_page(officer_client, colleague_does):
    subject = DataSubjectFactory()
    address = AddressFactory(subject=subject, street="Amir Temur ko'chasi 1")
    url, values = open_page(officer_client, subject)
    colleague = StaffFactory(username="jasur")
    if colleague_does == "changes the address":
        address.street = "Navoiy ko'chasi 7"
        record_save(instance=address, actor=colleague, reason="DSR #20: moved")
    elif colleague_does == "adds an address":
        record_save(instance=AddressFactory.build(subject=subject), actor=colleague, reason="DSR #20: new address")
    else:
        from shipex_privacy.audit.services import record_delete
        record_delete(instance=address, actor=colleague, reason="DSR #20: address removed")
    addresses_before = sorted(subject.addresses.values_list("pk", "street"))
    values.update({"addresses-0-street": ["Bobur ko'chasi 3"], "full_name": ["Changed on the old page"],
                   "change_reason": ["DSR #21: from the old page"]})

    errors = stale_error(officer_client.post(url, values))

    assert STALE in errors and "jasur" in errors and "DSR #20" in errors and "Address" in errors
    subject.refresh_from_db()
    assert subject.full_name != "Changed on the old page"
    assert sorted(subject.addresses.values_list("pk", "street")) == addresses_before


@pytest.mark.parametrize("version", ["", "garbage", "subjects.datasubject:-1", "subjects.datasubject:١٢", ";;",
                                     "subjects.datasubject:" + "9" * 40, None])
def test_a_version_the_admin_did_not_write_is_refused_cleanly(officer_client, version):
    subject = DataSubjectFactory(full_name="Karimov Aziz")
    url, values = open_page(officer_client, subject)
    values.update({VERSION_FIELD: [version], "full_name": ["Someone Else"], "change_reason": ["Test"]})
    if version is None:  # a POST that did not come from the page at all
        del values[VERSION_FIELD]
    errors = stale_error(officer_client.post(url, values))
    assert "version could not be read" in errors
    subject.refresh_from_db()
    assert subject.full_name == "Karimov Aziz"


def test_the_page_version_changes_with_every_save_and_only_then(officer_client):
    subject = DataSubjectFactory()
    _url, first = open_page(officer_client, subject)
    _url, again = open_page(officer_client, subject)
    assert first[VERSION_FIELD] == again[VERSION_FIELD]
    record_save(instance=subject, actor=None, reason="Retention run #1")
    _url, after = open_page(officer_client, subject)
    assert after[VERSION_FIELD] != first[VERSION_FIELD]


def test_a_hold_released_since_the_page_was_opened_is_not_released_again(officer_client, compliance_officer):
    from shipex_privacy.retention.models import LegalHold
    from shipex_privacy.retention.services import legal_hold_release

    hold = LegalHoldFactory()
    url = reverse("admin:retention_legalhold_release", args=[hold.pk])
    assert officer_client.get(url).status_code == 200
    legal_hold_release(hold=hold, reason="Case closed", actor=compliance_officer)
    response = officer_client.post(url, {"reason": "Court ruling"}, follow=True)
    assert "already released on" in response.content.decode() and compliance_officer.username in \
        response.content.decode()
    assert LegalHold.objects.get(pk=hold.pk).release_reason == "Case closed"
