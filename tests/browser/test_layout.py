"""Issue 13's layout: each role's main pages at 1366 × 768, in Uzbek and Russian.

One browser context per role, reused for every page and both languages. On each page: nothing
scrolls sideways, the object-tools buttons do not cover the page title, and on the correction form
no text input is narrower than the value it shows. A screenshot of each page is kept in
test-artifacts/<role>-<page>-<lang>.png for a human to look at.
"""

import pytest

from shipex_privacy.accounts.roles import AUDITOR, COMPLIANCE_OFFICER, SUPPORT_AGENT
from shipex_privacy.audit.models import AccessEvent
from shipex_privacy.disclosures.models import Disclosure
from shipex_privacy.rights_requests.services import request_receive, request_verify_and_start
from tests.accounts.factories import StaffFactory
from tests.disclosures.factories import DisclosureFactory
from tests.jobs.factories import JobRunFactory
from tests.protection.factories import MeasureFactory
from tests.subjects.factories import AddressFactory, DataSubjectFactory

LANGUAGES = ("uz", "ru")
ROLE_NAMES = {SUPPORT_AGENT: "support", COMPLIANCE_OFFICER: "compliance", AUDITOR: "auditor"}
USERNAMES = {SUPPORT_AGENT: "jasur", COMPLIANCE_OFFICER: "nodira", AUDITOR: "gulnora"}

# Where an object-tools button covers the page title's text: the page's h1 and, where a page has one,
# the subtitle under it (Django floats the buttons up beside both).
OVERLAPS = """() => {
    // The title's text, not its block (which spans the whole width whatever its length).
    const titles = [...document.querySelectorAll('#content > h1, #content > h2')].flatMap(e => {
        const range = document.createRange(); range.selectNodeContents(e); return [...range.getClientRects()];
    });
    const buttons = [...document.querySelectorAll('.object-tools li')].map(e => e.getBoundingClientRect());
    const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
    return buttons.flatMap(b => titles.filter(t => t.width && b.width && hit(t, b))
        .map(t => `button at ${Math.round(b.left)},${Math.round(b.top)} covers the title`));
}"""
# Boxes that scroll sideways inside the page: Django's changelist puts its table in a `.results`
# box with overflow-x: auto, so a too-wide list scrolls (and hides its last columns) there instead.
INNER_SCROLL = """() => [...document.querySelectorAll('#content .results, #content .module')]
    .filter(e => e.scrollWidth > e.clientWidth + 1)
    .map(e => `.${e.className.split(' ')[0]} scrolls: ${e.scrollWidth} px of content in ${e.clientWidth} px`)"""
# Inputs whose value is wider than the box that shows it (the browser would cut it off).
TRUNCATED = """() => [...document.querySelectorAll(
        '#content-main input[type=text], #content-main input[type=email], #content-main input[type=tel],'
        + ' #content-main input:not([type]), #content-main input[type=date], #content-main input[type=number]')]
    .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
    .map(e => `${e.name}: ${e.scrollWidth}px of text in ${e.clientWidth}px`)"""


@pytest.fixture
def world(catalogue):
    staff = {role: StaffFactory(username=name, role=role) for role, name in USERNAMES.items()}
    agent = staff[SUPPORT_AGENT]
    subject = DataSubjectFactory(full_name="Abdulazizxo'ja Nurmuhammadova-Qodirxo'jayeva", preferred_language="uz",
                                 email="abdulazizxoja.nurmuhammadova.qodirxojayeva@pochta.example.uz")
    AddressFactory(subject=subject, street="Mirzo Ulug'bek tumani, Buyuk Ipak Yo'li ko'chasi, 154-uy, 27-xonadon")
    request = request_receive(kind="correction", channel="phone", actor=agent, subject=subject,
                              requester_name=subject.full_name, requester_contact=subject.phone)
    request = request_verify_and_start(request=request, method="sms_code", actor=agent)
    disclosure = DisclosureFactory(status=Disclosure.Status.SUBMITTED, created_by_username="kamola")
    MeasureFactory()
    JobRunFactory()
    AccessEvent.objects.create(user_id=agent.pk, username="jasur", action=AccessEvent.Action.SUBJECT_VIEW,
                               subject_id=subject.pk)
    return staff, {"request": request, "subject": subject, "disclosure": disclosure}


def pages(role, objects):
    """(page name, admin path) of the role's main pages."""
    if role == SUPPORT_AGENT:
        request, subject = objects["request"], objects["subject"]
        return [
            ("home", "/admin/"),
            ("queue", "/admin/rights_requests/subjectrequest/"),
            ("request", f"/admin/rights_requests/subjectrequest/{request.pk}/change/"),
            ("subjects", "/admin/subjects/datasubject/"),
            ("subject", f"/admin/subjects/datasubject/{subject.pk}/change/"),
            ("correction", f"/admin/rights_requests/subjectrequest/{request.pk}/correct/"),
        ]
    if role == COMPLIANCE_OFFICER:
        return [
            ("home", "/admin/"),
            ("catalogue", "/admin/catalogue/personaldatafield/"),
            ("disclosures", "/admin/disclosures/disclosure/"),
            ("disclosure", f"/admin/disclosures/disclosure/{objects['disclosure'].pk}/change/"),
            ("measures", "/admin/protection/measure/"),
            ("ropa", "/admin/disclosures/disclosure/ropa/"),
            ("consent-report", "/admin/consents/consent/report/"),
        ]
    return [
        ("home", "/admin/"),
        ("audit-trail", "/admin/audit/trailentry/"),
        ("access-log", "/admin/audit/accessevent/"),
        ("job-runs", "/admin/jobs/jobrun/"),
    ]


def walk(page, live_server, role, language, name, path, artifacts) -> list[str]:
    """Open one page in one language, keep its screenshot, and say what is wrong with its layout."""
    page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    response = page.goto(f"{live_server.url}{path}")
    where = f"{ROLE_NAMES[role]}-{name}-{language}"
    page.screenshot(path=artifacts / f"{where}.png", full_page=True)
    if response.status != 200:
        return [f"{where}: HTTP {response.status}"]
    assert page.locator("html").get_attribute("lang") == language
    faults = []
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if width[0] > width[1]:
        faults.append(f"{where}: {width[0]} px wide in a {width[1]} px window")
    faults += [f"{where}: {fault}" for fault in page.evaluate(INNER_SCROLL)]
    faults += [f"{where}: {fault}" for fault in page.evaluate(OVERLAPS)]
    if name == "correction":
        assert page.locator("#content-main input[type=text]").count() > 3  # the subject's data, to correct
        faults += [f"{where}: {fault}" for fault in page.evaluate(TRUNCATED)]
    return faults


@pytest.mark.parametrize("role", [SUPPORT_AGENT, COMPLIANCE_OFFICER, AUDITOR])
def test_each_roles_main_pages_fit_1366_px(role, page, login, live_server, world, artifacts):
    staff, objects = world
    page.set_viewport_size({"width": 1366, "height": 768})
    login(page, staff[role])
    faults = []
    for language in LANGUAGES:
        for name, path in pages(role, objects):
            faults += walk(page, live_server, role, language, name, path, artifacts)
    if role == COMPLIANCE_OFFICER:
        # The catalogue's column titles are longest in English, the language it was written in.
        faults += walk(page, live_server, role, "en", "catalogue", "/admin/catalogue/personaldatafield/", artifacts)
    assert not faults, "\n".join(faults)
