"""Issue 5's journey, shortened by issue 13: a support agent answers an access request phoned in.

The agent opens the request from the queue; the match page already searched for the phone the
caller gave, and the subject is one click. The identity check is one click more and moves the
request on to the package page; the package is built and downloaded (the download is logged),
and the request is closed with the template's answer in the subject's language, read first.
Eight clicks where there were eighteen (docs/request-clicks.md). An erasure request walks the same
way to its erasure page, which shows what will happen before it is confirmed: 7 + 2N clicks for N
tasks to other systems' owners, where there were 17 + 2N. The admin speaks Uzbek, its
default; elements are found by ids, names and links.
"""

import hashlib
import zipfile

import pytest
from playwright.sync_api import expect

from shipex_privacy.accounts.roles import SUPPORT_AGENT
from shipex_privacy.audit.models import AccessEvent
from shipex_privacy.catalogue.models import PersonalDataField
from shipex_privacy.rights_requests.models import ErasureItem, SubjectRequest
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
                              requester_contact=national_format(subject.phone))
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

    clicks = 1

    # The match page searched for the phone the caller gave: the subject is one click.
    step(page, live_server, request, "match")
    page.click(f'.step-choices button[name="term"][value="{subject.account_id}"]')
    page.wait_for_url(f"**{QUEUE}{request.pk}/verify/")
    clicks += 2

    # One click records how the identity was verified and moves on to the package page.
    page.click('.step-choices button[name="method"][value="sms_code"]')
    page.wait_for_url(f"**{QUEUE}{request.pk}/package/")
    clicks += 1
    request.refresh_from_db()
    assert (request.status, request.identity_verified_by_username) == ("in_progress", "jasur")

    # Build the package, then download it from the request page.
    submit_step(page, request)
    clicks += 1
    package = SubjectRequest.objects.get(pk=request.pk).access_packages.get()
    with page.expect_download() as download:
        page.click(f'a[href="{QUEUE}{request.pk}/package/{package.pk}/"]')
    clicks += 1
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

    # Close with the Uzbek template's answer, which quotes the package's checksum: read, then confirm.
    step(page, live_server, request, "close")
    expect(page.locator("#id_response_text")).to_contain_text(package.sha256)
    expect(page.locator("#id_response_text")).to_contain_text("Hurmatli Malika Ergasheva!")
    page.screenshot(path=artifacts / "request-closing.png", full_page=True)
    page.click("#content-main form [type=submit]")
    page.wait_for_url(f"**{QUEUE}{request.pk}/change/")
    clicks += 2

    request.refresh_from_db()
    assert request.status == SubjectRequest.Status.DONE and package.sha256 in request.response_text
    expect(page.locator(".field-status")).to_contain_text("Bajarildi")
    assert clicks == 8  # 18 before issue 13


@pytest.fixture
def erasure_phoned_in(catalogue):
    subject = DataSubjectFactory(full_name="Malika Ergasheva", preferred_language="uz")
    AddressFactory(subject=subject)
    agent = StaffFactory(username="jasur", role=SUPPORT_AGENT)
    request = request_receive(kind="erasure", channel="phone", actor=agent, requester_name="Malika",
                              requester_contact=national_format(subject.phone))
    return agent, subject, request


def test_an_agent_answers_an_erasure_request_end_to_end(page, login, live_server, erasure_phoned_in, artifacts):
    agent, subject, request = erasure_phoned_in
    login(page, agent)

    page.goto(f"{live_server.url}{QUEUE}?queue=unassigned")
    page.click(f'#result_list a[href^="{QUEUE}{request.pk}/change/"]')
    page.wait_for_url(f"**{QUEUE}{request.pk}/change/*")
    clicks = 1

    # Match (the caller's phone, already searched) and the identity check, which opens the erasure page.
    step(page, live_server, request, "match")
    page.click(f'.step-choices button[name="term"][value="{subject.account_id}"]')
    page.wait_for_url(f"**{QUEUE}{request.pk}/verify/")
    page.click('.step-choices button[name="method"][value="sms_code"]')
    page.wait_for_url(f"**{QUEUE}{request.pk}/erase/")
    clicks += 3

    # Before confirming, the page says what is erased, what is kept, and which tasks go to whom.
    preview = page.locator(".step-preview")
    expect(preview).to_be_visible()
    expect(preview.locator("h3")).to_have_count(4)
    # ...in Uzbek, law and systems included: the seeded rules' and systems' Uzbek texts, not the English.
    passport = PersonalDataField.objects.select_related("retention_rule").get(binding="subjects.DataSubject.passport")
    assert passport.retention_rule.legal_reference_uz
    expect(preview).to_contain_text(passport.retention_rule.legal_reference_uz)
    expect(preview).not_to_contain_text(passport.retention_rule.legal_reference)
    subject.refresh_from_db()
    assert subject.phone and not request.erasure_items.exists()  # the preview changed nothing
    page.screenshot(path=artifacts / "erasure-preview.png", full_page=True)
    submit_step(page, request)
    clicks += 1
    subject.refresh_from_db()
    assert subject.is_erased

    # Each task for another system's owner: "Mark done" on the request page, then submit.
    tasks = list(request.erasure_items.filter(outcome=ErasureItem.Outcome.TASK).order_by("pk"))
    assert tasks  # the seeded catalogue holds data in other systems
    request.refresh_from_db()
    assert request.status == SubjectRequest.Status.WAITING_SYSTEMS
    for item in tasks:
        page.click(f'a[href="{QUEUE}{request.pk}/task/{item.pk}/"]')
        page.wait_for_url(f"**{QUEUE}{request.pk}/task/{item.pk}/")
        submit_step(page, request)
        clicks += 2
    assert not request.open_tasks().exists()
    page.screenshot(path=artifacts / "erasure-tasks-done.png", full_page=True)

    # Close with the Uzbek template's answer: read, then confirm.
    step(page, live_server, request, "close")
    expect(page.locator("#id_response_text")).to_contain_text("Hurmatli")
    page.click("#content-main form [type=submit]")
    page.wait_for_url(f"**{QUEUE}{request.pk}/change/")
    clicks += 2

    request.refresh_from_db()
    assert request.status == SubjectRequest.Status.DONE
    expect(page.locator(".field-status")).to_contain_text("Bajarildi")
    assert clicks == 7 + 2 * len(tasks)  # 17 + 2N before issue 13
