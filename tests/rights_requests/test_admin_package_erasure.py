"""The request page's package download and erasure steps, as the agent and the auditor meet them."""

import pytest
from django.urls import reverse

from shipex_privacy.accounts.roles import AUDITOR
from shipex_privacy.audit.models import AccessEvent
from shipex_privacy.rights_requests.models import ErasureItem
from shipex_privacy.rights_requests.services import request_receive, request_verify_identity
from tests.accounts.factories import StaffFactory
from tests.rights_requests.factories import build_package
from tests.subjects.factories import AddressFactory, DataSubjectFactory

pytestmark = pytest.mark.django_db


def verified(agent, kind, subject):
    request = request_receive(kind=kind, channel="app", actor=agent, subject=subject)
    return request_verify_identity(request=request, method="app_login", actor=agent)


def test_the_download_is_logged_for_the_agent_and_refused_to_the_auditor(client, support_agent, auditor):
    subject = DataSubjectFactory()
    request = verified(support_agent, "access", subject)
    package = build_package(request, support_agent)
    url = reverse("admin:rights_requests_subjectrequest_package", args=[request.pk, package.pk])

    client.force_login(auditor)
    assert client.get(url).status_code == 403
    assert not AccessEvent.objects.filter(action=AccessEvent.Action.ACCESS_PACKAGE).exists()

    client.force_login(support_agent)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:2] == b"PK"  # a zip
    event = AccessEvent.objects.get(action=AccessEvent.Action.ACCESS_PACKAGE)
    assert (event.username, event.subject_id, event.object_id) == (support_agent.username, subject.pk,
                                                                   str(package.pk))
    assert client.get(reverse("admin:rights_requests_subjectrequest_package",
                              args=[request.pk + 1, package.pk])).status_code == 404  # not this request's


def test_the_agent_erases_from_the_request_page_and_ticks_off_a_task(client, support_agent):
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    subject = DataSubjectFactory(passport="AB1234567")
    AddressFactory(subject=subject)
    request = verified(support_agent, "erasure", subject)

    client.post(reverse("admin:rights_requests_subjectrequest_erase", args=[request.pk]), {})

    subject.refresh_from_db()
    assert subject.phone == "" and subject.passport == "AB1234567" and subject.addresses.count() == 0
    page = client.get(reverse("admin:rights_requests_subjectrequest_change", args=[request.pk])).content.decode()
    task = ErasureItem.objects.filter(request=request, outcome="task").order_by("pk").first()
    task_url = reverse("admin:rights_requests_subjectrequest_task", args=[request.pk, task.pk])
    assert task_url in page and "Mark done" in page

    auditor = StaffFactory(role=AUDITOR)
    client.force_login(auditor)
    assert client.post(task_url, {"note": "done"}).status_code == 403  # reads, never ticks off
    assert client.get(reverse("admin:retention_retentionrun_expiring")).status_code == 200
    client.force_login(support_agent)
    client.post(task_url, {"note": "Deleted from the CRM by the call-centre team"})

    task.refresh_from_db()
    assert task.task_done_by_username == support_agent.username and task.task_note.startswith("Deleted")
    page = client.get(reverse("admin:rights_requests_subjectrequest_change", args=[request.pk])).content.decode()
    assert task_url not in page
    refused = client.post(task_url, {"note": ""}, follow=True).content.decode()
    assert "already" in refused  # ticked once, not twice


def test_the_auditor_reads_the_request_with_the_contact_masked_and_no_download(client, support_agent, auditor):
    subject = DataSubjectFactory()
    request = request_receive(kind="access", channel="phone", actor=support_agent, subject=subject,
                              requester_contact="+998 90 123 45 67")
    request = request_verify_identity(request=request, method="sms_code", actor=support_agent)
    package = build_package(request, support_agent)
    download = reverse("admin:rights_requests_subjectrequest_package", args=[request.pk, package.pk])
    change = reverse("admin:rights_requests_subjectrequest_change", args=[request.pk])

    client.force_login(auditor)
    page = client.get(change).content.decode()
    assert "+998 90 *** ** 67" in page and "123 45 67" not in page and "+998901234567" not in page
    assert package.sha256 in page and download not in page

    client.force_login(support_agent)
    page = client.get(change).content.decode()
    assert 'value="+998 90 123 45 67"' in page and download in page


def test_an_erasure_takes_the_files_of_earlier_access_packages_and_keeps_their_proof(
        support_agent, django_capture_on_commit_callbacks):
    from shipex_privacy.rights_requests.erasure import request_erase

    subject = DataSubjectFactory()
    package = build_package(verified(support_agent, "access", subject), support_agent)
    stored, storage = package.file.name, package.file.storage

    with django_capture_on_commit_callbacks() as on_commit:
        items = request_erase(request=verified(support_agent, "erasure", subject), actor=support_agent)
    for callback in on_commit:
        if getattr(callback, "func", None) == storage.delete:
            callback()

    package.refresh_from_db()
    assert package.file.name == "" and not storage.exists(stored) and len(package.sha256) == 64
    item = next(item for item in items if item.field.code == "request.access_package")
    assert (item.outcome, item.rows) == (ErasureItem.Outcome.ERASED, 1)
    assert package.history.latest().history_change_reason.endswith(": erasure (1.5)")
