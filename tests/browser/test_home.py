"""Each role signs in and lands on its own home: what needs it now, counted, in Uzbek; a 1366-px screenshot each."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from shipex_privacy.accounts.roles import AUDITOR, COMPLIANCE_OFFICER, SUPPORT_AGENT
from shipex_privacy.audit.models import AccessEvent
from shipex_privacy.disclosures.models import Disclosure
from tests.accounts.factories import StaffFactory
from tests.disclosures.factories import DisclosureFactory
from tests.protection.factories import IncidentFactory, MeasureFactory
from tests.rights_requests.factories import SubjectRequestFactory

USERNAMES = {SUPPORT_AGENT: "jasur", COMPLIANCE_OFFICER: "nodira", AUDITOR: "gulnora"}
# The item each role's home must show first-hand, and the section it must never show.
EXPECTED = {
    SUPPORT_AGENT: ("#home-requests-mine-overdue", "#home-auditor"),
    COMPLIANCE_OFFICER: ("#home-disclosures-to-approve", "#home-support-agent"),
    AUDITOR: ("#home-audit-refused-reveals", "#home-compliance-officer"),
}


@pytest.fixture
def work(catalogue):
    staff = {role: StaffFactory(username=name, role=role) for role, name in USERNAMES.items()}
    colleague = StaffFactory(username="kamola", role=COMPLIANCE_OFFICER)
    now = timezone.now()
    agent = staff[SUPPORT_AGENT]
    SubjectRequestFactory(assignee_id=agent.pk, assignee_username="jasur", due_at=now - timedelta(days=1))
    SubjectRequestFactory(assignee_id=agent.pk, assignee_username="jasur", due_at=now + timedelta(days=2))
    SubjectRequestFactory()
    DisclosureFactory(status=Disclosure.Status.SUBMITTED, created_by_id=colleague.pk, created_by_username="kamola")
    MeasureFactory(last_reviewed_on=timezone.localdate() - timedelta(days=400))
    IncidentFactory()
    AccessEvent.objects.create(user_id=agent.pk, username="jasur", action=AccessEvent.Action.REVEAL_REFUSED,
                               field="pinfl", subject_id=1)
    return staff


@pytest.mark.parametrize("role", [SUPPORT_AGENT, COMPLIANCE_OFFICER, AUDITOR])
def test_role_lands_on_its_home(role, page, login, work, artifacts):
    page.set_viewport_size({"width": 1366, "height": 900})
    login(page, work[role])
    first, foreign = EXPECTED[role]
    item = page.locator(first)
    expect(item).to_be_visible()
    expect(item.locator(".home-count")).to_have_text("1")
    expect(page.locator(foreign)).to_have_count(0)
    expect(page.locator("html")).to_have_attribute("lang", "uz")
    # The page fits 1366 px: nothing scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=artifacts / f"home-{USERNAMES[role]}-1366.png", full_page=True)
    # The item's link opens the list it counts.
    item.locator("a.home-link").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
