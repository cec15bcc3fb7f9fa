"""The catalogue's bound entries are the one masking rule: pages, diffs and lists follow what it says."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from shipex_privacy.audit.models import TrailEntry
from shipex_privacy.audit.services import record_save
from shipex_privacy.audit.trail import change_rows
from shipex_privacy.catalogue.masking import mask_value, masks_for
from shipex_privacy.catalogue.models import PersonalDataField
from shipex_privacy.consents.models import SubjectWithoutCurrentPolicy
from shipex_privacy.rights_requests.models import SubjectRequest
from shipex_privacy.subjects.models import Address, DataSubject
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db


def test_the_seeded_catalogue_masks_identifiers_addresses_and_device_data():
    assert {name: mask.__name__ for name, mask in masks_for(DataSubject).items()} == {
        "phone": "mask_phone", "email": "mask_email", "pinfl": "mask_pinfl", "passport": "mask_passport"}
    assert set(masks_for(Address)) == {"street", "landmark"}
    assert masks_for(SubjectRequest)["requester_contact"].__name__ == "mask_contact"
    assert masks_for(SubjectWithoutCurrentPolicy) == masks_for(DataSubject)  # a proxy is its model
    # Names are how staff tell subjects apart, and every page's title: shown in full.
    assert "full_name" not in masks_for(DataSubject)


def test_a_catalogue_change_changes_every_page_at_once(client, auditor, compliance_officer):
    subject = DataSubjectFactory(email="aziz.karimov@mail.uz", birth_date=date(1990, 5, 17))
    email = PersonalDataField.objects.get(binding="subjects.DataSubject.email")
    birth = PersonalDataField.objects.get(binding="subjects.DataSubject.birth_date")
    email.masking, birth.masking = "", "text"
    record_save(instance=email, actor=compliance_officer, reason="Counsel: e-mail may be read in full")
    record_save(instance=birth, actor=compliance_officer, reason="Counsel: birth dates are masked")

    client.force_login(auditor)
    content = client.get(reverse("admin:subjects_datasubject_change", args=[subject.pk])).content.decode()
    assert "aziz.karimov@mail.uz" in content and "a***@mail.uz" not in content
    assert "1990" not in content and "field-masked_birth_date" in content
    listed = client.get(reverse("admin:subjects_datasubject_changelist")).content.decode()
    assert "aziz.karimov@mail.uz" in listed

    subject.email = "aziz@inbox.uz"
    record_save(instance=subject, actor=compliance_officer, reason="DSR #7: new e-mail")
    entry = TrailEntry.objects.filter(model="subjects.datasubject").latest("id")
    assert [(row.old, row.new) for row in change_rows(entry)] == [("aziz.karimov@mail.uz", "aziz@inbox.uz")]


def test_a_list_reads_the_rule_once_not_once_per_row(client, auditor):
    client.force_login(auditor)
    url = reverse("admin:subjects_datasubject_changelist")
    DataSubjectFactory.create_batch(2)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    DataSubjectFactory.create_batch(20)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)


def test_values_without_a_rule_are_shown_as_they_are():
    assert mask_value(DataSubject, "full_name", "Karimov Aziz") == "Karimov Aziz"
    assert mask_value(DataSubject, "phone", "+998901234567") == "+998 90 *** ** 67"
    assert mask_value(DataSubject, "phone", "") == ""
