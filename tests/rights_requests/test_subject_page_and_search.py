"""The subject page's requests, legal holds and services panels with the "New request" button, and
the queue's search by request number, the subject's identifiers or the requester's contact (issue 13)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from shipex_privacy.audit.access import search_term_hash
from shipex_privacy.audit.models import AccessEvent
from shipex_privacy.rights_requests.models import SubjectRequest
from tests.retention.factories import LegalHoldFactory, ServiceUseFactory
from tests.rights_requests.factories import SubjectRequestFactory
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db
ADD = reverse("admin:rights_requests_subjectrequest_add")
QUEUE = reverse("admin:rights_requests_subjectrequest_changelist")


@pytest.fixture(autouse=True)
def in_english(client):
    # The texts looked for are the English source strings; the pages speak Uzbek by default.
    client.cookies["django_language"] = "en"


@pytest.fixture
def subject():
    return DataSubjectFactory(account_id="SX1004321", phone="+998935554433", full_name="Rahimova Dilnoza")


def page(client, subject):
    response = client.get(reverse("admin:subjects_datasubject_change", args=[subject.pk]))
    assert response.status_code == 200
    return response


def panel(response, template):
    return next((p for p in response.context["subject_panels"] if p["template"] == template), None)


def test_the_subject_page_shows_requests_holds_and_services_with_a_new_request_button(client, support_agent,
                                                                                      subject):
    request = SubjectRequestFactory(subject=subject, kind=SubjectRequest.Kind.ERASURE)
    other = SubjectRequestFactory(subject=DataSubjectFactory())
    hold = LegalHoldFactory(subject=subject)
    use = ServiceUseFactory(subject=subject)
    client.force_login(support_agent)
    response = page(client, subject)
    html = response.content.decode()

    assert panel(response, "admin/rights_requests/subject_panel.html")["rows"] == [request]
    assert reverse("admin:rights_requests_subjectrequest_change", args=[request.pk]) in html
    assert reverse("admin:rights_requests_subjectrequest_change", args=[other.pk]) not in html
    assert f'href="{ADD}?subject={subject.pk}"' in html and "New request" in html
    assert panel(response, "admin/retention/subject_panel.html")["rows"] == [hold]
    assert hold.legal_reference in html
    assert panel(response, "admin/subjects/datasubject/services_panel.html")["rows"] == [use]
    assert str(use.service) in html


def test_readers_see_the_panels_without_the_button(client, auditor, subject):
    SubjectRequestFactory(subject=subject)
    client.force_login(auditor)
    response = page(client, subject)
    assert panel(response, "admin/rights_requests/subject_panel.html")["rows"]
    assert f"{ADD}?subject=" not in response.content.decode()


def test_new_request_from_the_subject_page_is_received_for_that_subject(client, support_agent, subject):
    client.force_login(support_agent)
    url = f"{ADD}?subject={subject.pk}"
    response = client.get(url)
    assert response.status_code == 200
    assert str(subject) in response.content.decode()
    assert AccessEvent.objects.filter(action=AccessEvent.Action.SUBJECT_VIEW, subject_id=subject.pk,
                                      detail="new request").count() == 1
    received = timezone.localtime() - timedelta(hours=1)
    response = client.post(url, {
        "kind": "access", "channel": "phone", "received_at_0": f"{received:%Y-%m-%d}",
        "received_at_1": f"{received:%H:%M:%S}", "requester_name": "Dilnoza Rahimova",
        "requester_contact": "+998 93 555 44 33", "details": "Ma'lumotlarim nusxasi", "change_reason": "",
    })
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    created = SubjectRequest.objects.get()
    assert created.subject == subject
    assert created.response_language == subject.preferred_language


@pytest.mark.parametrize("typed", ["abc", "999999999", "١٢", "1" * 30, ""])
def test_a_bad_subject_in_the_address_is_said_and_the_form_still_works(client, support_agent, typed):
    client.force_login(support_agent)
    response = client.get(ADD, {"subject": typed})
    assert response.status_code == 200
    assert "No open data subject has the id" in response.content.decode()


def test_an_erased_subject_is_not_filled_in(client, support_agent, subject):
    subject.status = subject.Status.ANONYMISED
    subject.save()
    client.force_login(support_agent)
    response = client.get(ADD, {"subject": subject.pk})
    assert "No open data subject has the id" in response.content.decode()
    assert "New request" not in page(client, subject).content.decode()


@pytest.mark.parametrize("term", [
    "{pk}", "#{pk}", "DSR #{pk}", "dsr-{pk}", "SX1004321", "sx 1004 321", "93 555 44 33", "+998935554433",
])
def test_the_queue_finds_a_request_by_number_or_its_subjects_identifiers(client, support_agent, subject, term):
    wanted = SubjectRequestFactory(subject=subject, requester_contact="")
    SubjectRequestFactory(subject=DataSubjectFactory(), requester_contact="")
    client.force_login(support_agent)
    response = client.get(QUEUE, {"q": term.format(pk=wanted.pk)})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [wanted]


@pytest.mark.parametrize("term", ["+998 90 111 22 33", "901112233", "Nodira.K@Mail.uz"])
def test_the_queue_finds_an_unmatched_request_by_the_requesters_contact(client, support_agent, term):
    by_phone = SubjectRequestFactory(requester_contact="+998 90 111 22 33")
    by_mail = SubjectRequestFactory(requester_contact="nodira.k@mail.uz")
    SubjectRequestFactory(requester_contact="+998 90 111 22 34")
    client.force_login(support_agent)
    response = client.get(QUEUE, {"q": term})
    assert list(response.context["cl"].result_list) == [by_mail if "@" in term else by_phone]


def test_a_queue_search_is_in_the_access_log_hashed(client, support_agent, subject):
    SubjectRequestFactory(subject=subject)
    client.force_login(support_agent)
    client.get(QUEUE, {"q": "93 555 44 33"})
    event = AccessEvent.objects.get(action=AccessEvent.Action.SUBJECT_SEARCH)
    assert event.search_term_hash == search_term_hash("+998935554433")
    assert event.detail == "requests results=1"


@pytest.mark.parametrize("term", ["Rahimova", "90 111", "DSR", "#", "'; --"])
def test_the_queue_search_finds_nothing_for_a_partial_or_odd_term(client, support_agent, subject, term):
    SubjectRequestFactory(subject=subject, requester_contact="+998 90 111 22 33")
    client.force_login(support_agent)
    response = client.get(QUEUE, {"q": term})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []
