"""Issue 5's journey: a support agent answers an access request that came in by phone.

The agent opens the request from the queue, finds the subject by the phone number the caller read
out, records how the identity was verified, builds the access package, downloads it (the download
is logged), drafts the answer from the template in the subject's language and closes the request.
The admin speaks Uzbek, its default; elements are found by ids, names and links.
"""

import hashlib
import zipfile

import pytest
from playwright.sync_api import expect

from shipex_privacy.accounts.roles import SUPPORT_AGENT
from shipex_privacy.audit.models import AccessEvent
from shipex_privacy.rights_requests.models import SubjectRequest
from shipex_privacy.rights_requests.services import request_receive
from tests.accounts.factories import StaffFactory
from tests.browser.test_role_journeys import national_format
from tests.subjects.factories import AddressFactory, DataSubjectFactory

QUEUE = "/admin/rights_requests/subjectrequest/"


@pytest.fixture
def phoned_in(catalogue):
    subject = DataSubjectFactory(full_name="Malika Ergasheva", preferred_language="uz")
    AddressFactory(subject=subject)
    agent = StaffFactory(username="jasur", role=SUPPORT_AGENT)
    request = request_receive(kind="access", channel="phone", actor=agent, requester_name="Malika",
                              requester_contact="telefon orqali")
    return agent, subject, request


def step(page, live_server, request, name):
    page.click(f'a[href="{QUEUE}{request.pk}/{name}/"]')
    page.wait_for_url(f"**{QUEUE}{request.pk}/{name}/")


def submit_step(page, request):
    page.click("#content-main form [type=submit]")
    page.wait_for_url(f"**{QUEUE}{request.pk}/change/")
    expect(page.locator(".messagelist .success")).to_have_count(1)


def test_an_agent_answers_an_access_request_end_to_end(page, login, live_server, phoned_in, artifacts):
    agent, subject, request = phoned_in
    login(page, agent)

    # The queue shows the new request; the agent opens it.
    page.goto(f"{live_server.url}{QUEUE}?queue=unassigned")
    page.click(f'#result_list a[href^="{QUEUE}{request.pk}/change/"]')
    page.wait_for_url(f"**{QUEUE}{request.pk}/change/*")

    # Find the subject by the phone number as the caller read it out.
    step(page, live_server, request, "match")
    page.fill("#id_term", national_format(subject.phone))
    submit_step(page, request)
    expect(page.locator(".field-subject")).to_contain_text(subject.account_id)

    step(page, live_server, request, "move")
    page.select_option("#id_status", "verifying")
    submit_step(page, request)
    step(page, live_server, request, "verify")
    page.select_option("#id_method", "sms_code")
    submit_step(page, request)
    expect(page.locator(".field-identity_verified_by_username")).to_contain_text("jasur")
    step(page, live_server, request, "move")
    page.select_option("#id_status", "in_progress")
    submit_step(page, request)

    # Build the package, then download it from the request page.
    step(page, live_server, request, "package")
    submit_step(page, request)
    package = SubjectRequest.objects.get(pk=request.pk).access_packages.get()
    with page.expect_download() as download:
        page.click(f'a[href="{QUEUE}{request.pk}/package/{package.pk}/"]')
    archive = download.value.path()
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == package.sha256
    with zipfile.ZipFile(archive) as zipped:
        names = set(zipped.namelist())
        html = zipped.read(next(name for name in names if name.endswith(".html"))).decode()
    assert any(name.endswith(".json") for name in names)
    assert subject.full_name in html
    logged = AccessEvent.objects.get(action=AccessEvent.Action.ACCESS_PACKAGE)
    assert (logged.username, logged.subject_id) == ("jasur", subject.pk)
    page.screenshot(path=artifacts / "request-package-built.png", full_page=True)

    # Draft the answer from the Uzbek template, which quotes the package's checksum, and close.
    step(page, live_server, request, "move")
    page.click('a[href="?template=done"]')
    expect(page.locator("#id_response_text")).to_contain_text(package.sha256)
    expect(page.locator("#id_response_text")).to_contain_text("Hurmatli Malika Ergasheva!")
    page.screenshot(path=artifacts / "request-closing.png", full_page=True)
    page.click("#content-main form [type=submit]")
    page.wait_for_url(f"**{QUEUE}{request.pk}/change/")

    request.refresh_from_db()
    assert request.status == SubjectRequest.Status.DONE and package.sha256 in request.response_text
    expect(page.locator(".field-status")).to_contain_text("Bajarildi")
