"""A request's page and its history show the requester's contact and the matched subject: every open
is in the access log, and staff who only read see the contact masked by the catalogue's rule."""

import pytest
from django.urls import reverse

from shipex_privacy.audit.models import AccessEvent
from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.models import PersonalDataField
from tests.rights_requests.factories import SubjectRequestFactory
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def changed_request(support_agent):
    request = SubjectRequestFactory(subject=DataSubjectFactory(), requester_contact="aziza.tursunova@mail.uz")
    request.requester_contact = "+998 90 123 45 67"
    record_save(instance=request, actor=support_agent, reason="Requester called from another number")
    return request


def pages(request):
    version = request.history.earliest("history_id").history_id
    return {
        "change": reverse("admin:rights_requests_subjectrequest_change", args=[request.pk]),
        "history": reverse("admin:rights_requests_subjectrequest_history", args=[request.pk]),
        "version": reverse("admin:rights_requests_subjectrequest_simple_history", args=[request.pk, version]),
    }


@pytest.mark.parametrize("page", ["change", "history", "version"])
@pytest.mark.parametrize("role", ["auditor", "compliance_officer", "support_agent"])
def test_every_request_page_is_a_logged_read_naming_the_subject(client, changed_request, page, role, request):
    reader = request.getfixturevalue(role)
    client.force_login(reader)
    assert client.get(pages(changed_request)[page]).status_code == 200
    read = AccessEvent.objects.get(user_id=reader.pk)
    assert (read.action, read.subject_id, read.object_type, read.object_id) == (
        AccessEvent.Action.SUBJECT_VIEW, changed_request.subject_id, "rights_requests.subjectrequest",
        str(changed_request.pk))


def test_an_unmatched_request_is_logged_without_a_subject(client, auditor):
    unmatched = SubjectRequestFactory(subject=None)
    client.force_login(auditor)
    client.get(reverse("admin:rights_requests_subjectrequest_change", args=[unmatched.pk]))
    assert AccessEvent.objects.get(user_id=auditor.pk).subject_id is None


def test_a_request_that_does_not_exist_logs_no_read(client, auditor):
    client.force_login(auditor)
    client.get(reverse("admin:rights_requests_subjectrequest_change", args=[987654]))
    assert not AccessEvent.objects.filter(user_id=auditor.pk).exists()


@pytest.mark.parametrize("role", ["auditor", "compliance_officer"])
def test_the_history_masks_the_contact_for_staff_who_only_read(client, changed_request, role, request):
    client.force_login(request.getfixturevalue(role))
    for name, url in pages(changed_request).items():
        page = client.get(url).content.decode()
        assert "aziza.tursunova@mail.uz" not in page and "+998 90 123 45 67" not in page, name
    history = client.get(pages(changed_request)["history"]).content.decode()
    assert "a***@mail.uz" in history and "+998 90 *** ** 67" in history


def test_the_agent_who_answers_the_request_sees_its_history_in_full(client, changed_request, support_agent):
    client.force_login(support_agent)
    history = client.get(pages(changed_request)["history"]).content.decode()
    assert "aziza.tursunova@mail.uz" in history and "+998 90 123 45 67" in history


def test_the_contact_is_masked_as_the_catalogue_says(client, changed_request, auditor, compliance_officer):
    entry = PersonalDataField.objects.get(binding="rights_requests.SubjectRequest.requester_contact")
    entry.masking = "text"
    record_save(instance=entry, actor=compliance_officer, reason="Counsel: a contact is masked as free text")
    client.force_login(auditor)
    page = client.get(pages(changed_request)["change"]).content.decode()
    assert "+998 90 *** ** 67" not in page and "+***" in page  # free text: its first character only
