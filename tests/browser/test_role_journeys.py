"""Each role logs in, finds a subject by phone, opens it, and sees what it may and not what it may not."""

from dataclasses import dataclass

import pytest
from django.utils import translation
from playwright.sync_api import expect

from shipex_privacy.accounts.roles import AUDITOR, COMPLIANCE_OFFICER, SUPPORT_AGENT
from shipex_privacy.catalogue.models import PersonalDataField
from shipex_privacy.subjects.models import DataSubject
from tests.accounts.factories import StaffFactory
from tests.history_factory import DEFAULT_REASON
from tests.subjects.factories import AddressFactory, DataSubjectFactory

CATALOGUE_LIST = "/admin/catalogue/personaldatafield/"
SUBJECT_LIST = "/admin/subjects/datasubject/"
SUBJECT_ADD = "/admin/subjects/datasubject/add/"


@dataclass(frozen=True)
class RoleView:
    """What a role's admin index offers: "change" or "view" links, or no catalogue at all."""

    username: str
    catalogue: str | None
    subjects: str
    adds_subjects: bool
    adds_anything: bool

    @property
    def edits_subjects(self) -> bool:
        return self.subjects == "change"


ROLE_VIEWS = {
    SUPPORT_AGENT: RoleView("jasur", catalogue=None, subjects="change", adds_subjects=True, adds_anything=True),
    COMPLIANCE_OFFICER: RoleView(
        "nodira", catalogue="change", subjects="view", adds_subjects=False, adds_anything=True
    ),
    AUDITOR: RoleView("gulnora", catalogue="view", subjects="view", adds_subjects=False, adds_anything=False),
}


def uzbek(text) -> str:
    """A label as the Uzbek admin shows it (our own strings fall back to English until translated)."""
    with translation.override("uz"):
        return translation.gettext(text) if isinstance(text, str) else str(text)


def national_format(e164: str) -> str:
    """``+998901234567`` → ``90 123 45 67``, the way an agent types a number read out on the phone."""
    digits = e164.removeprefix("+998")
    return f"{digits[:2]} {digits[2:5]} {digits[5:7]} {digits[7:]}"


def masked(e164: str) -> str:
    """``+998901234567`` → ``+998 90 *** ** 67``: what the subject list may show of a phone."""
    return f"+998 {e164[4:6]} *** ** {e164[-2:]}"


def international_format(e164: str) -> str:
    return f"+998 {national_format(e164)}"


@pytest.fixture
def subject(catalogue):
    subject = DataSubjectFactory()
    AddressFactory(subject=subject)
    return subject


def staff(role):
    return StaffFactory(username=ROLE_VIEWS[role].username, role=role)


def history_panel(page, subject):
    """The subject page's "Change history" section: the one that links to the full history."""
    full_history = page.locator(f'a[href="{SUBJECT_LIST}{subject.pk}/history/"]')
    return page.locator("section.subject-panel", has=full_history)


@pytest.mark.parametrize("role", ROLE_VIEWS)
def test_role_finds_opens_and_reads_a_subject(role, page, login, subject, artifacts):
    view = ROLE_VIEWS[role]
    login(page, staff(role))

    # The admin index offers the data catalogue only to the roles that may see it, and a "view"
    # rather than a "change" link where the role only reads.
    if view.catalogue is None:
        expect(page.locator(".app-catalogue")).to_have_count(0)
        expect(page.locator(f'a[href="{CATALOGUE_LIST}"]')).to_have_count(0)
    else:
        expect(page.locator(f'a.{view.catalogue}link[href="{CATALOGUE_LIST}"]')).to_have_count(1)
    expect(page.locator(f'a.{view.subjects}link[href="{SUBJECT_LIST}"]')).to_have_count(1)
    expect(page.locator(f'a[href="{SUBJECT_ADD}"]')).to_have_count(1 if view.adds_subjects else 0)
    if not view.adds_anything:
        expect(page.locator("a.addlink")).to_have_count(0)

    # Look the subject up by phone, typed the way it is read out, not as stored.
    page.click(f'th a[href="{SUBJECT_LIST}"]')
    page.fill("#searchbar", national_format(subject.phone))
    page.press("#searchbar", "Enter")
    page.wait_for_url("**/admin/subjects/datasubject/?q=*")
    results = page.locator("#result_list tbody tr")
    expect(results).to_have_count(1)
    expect(results).to_contain_text(subject.account_id)
    expect(results).to_contain_text(masked(subject.phone))
    # The list never shows the phone in full, in any format.
    expect(page.locator("#result_list")).not_to_contain_text(subject.phone)
    expect(page.locator("#result_list")).not_to_contain_text(international_format(subject.phone))

    results.get_by_role("link", name=subject.account_id).click()
    # The admin keeps the search in the address (?_changelist_filters=…) for the way back.
    page.wait_for_url(f"**{SUBJECT_LIST}{subject.pk}/change/?*")

    # The name sits in the catalogue's "Identity" fieldset, editable only for the support agent.
    identity = page.locator("fieldset", has=page.locator(".field-full_name"))
    expect(identity.locator("h2")).to_have_text(uzbek(PersonalDataField.Category.IDENTITY.label))
    if view.edits_subjects:
        expect(page.locator("input#id_full_name")).to_have_value(subject.full_name)
        expect(page.locator('input[name="_save"]')).to_have_count(1)
    else:
        expect(page.locator(".field-full_name .readonly")).to_have_text(subject.full_name)
        expect(page.locator("input#id_full_name")).to_have_count(0)
        expect(page.locator('input[name="_save"]')).to_have_count(0)
        expect(page.locator("textarea#id_change_reason")).to_have_count(0)
        # Read-only roles see identifiers masked on the subject page too (clause 1.7.1).
        expect(page.locator(".field-masked_phone .readonly")).to_contain_text(masked(subject.phone))
        expect(page.locator("#content")).not_to_contain_text(international_format(subject.phone))
        expect(page.locator("#content")).not_to_contain_text(subject.pinfl)

    # Every role sees who changed the subject and why.
    panel = history_panel(page, subject)
    expect(panel.locator("h2")).to_have_text(uzbek("Change history"))
    expect(panel.locator("tbody tr").first).to_be_visible()
    page.screenshot(path=artifacts / f"subject-page-{view.username}.png", full_page=True)

    panel.locator(f'a[href="{SUBJECT_LIST}{subject.pk}/history/"]').click()
    page.wait_for_url(f"**{SUBJECT_LIST}{subject.pk}/history/")
    expect(page.locator("h1")).to_contain_text(subject.full_name)
    expect(page.locator("#change-history tbody tr").first).to_contain_text(DEFAULT_REASON)


@pytest.mark.parametrize(
    ("role", "path"),
    [
        (SUPPORT_AGENT, CATALOGUE_LIST),
        (AUDITOR, SUBJECT_ADD),
        (COMPLIANCE_OFFICER, SUBJECT_ADD),
    ],
)
def test_role_is_refused_pages_beyond_its_permissions(role, path, page, login, live_server, catalogue):
    login(page, staff(role))
    response = page.goto(f"{live_server.url}{path}")
    assert response.status == 403
    expect(page.locator("h1")).to_contain_text("403")
    expect(page.locator("form, #result_list")).to_have_count(0)


def test_support_agent_corrects_a_name_only_with_a_reason(page, login, live_server, subject):
    agent = staff(SUPPORT_AGENT)
    old_name, new_name = subject.full_name, "Toʻxtayeva Malika Anvar qizi"
    reason = "DSR #42: subject asked to correct the name"
    history_rows = DataSubject.history.filter(id=subject.pk).count()
    login(page, agent)
    page.goto(f"{live_server.url}{SUBJECT_LIST}{subject.pk}/change/")

    page.fill("#id_full_name", new_name)
    page.click('input[name="_save"]')
    expect(page.locator(".errornote")).to_be_visible()
    expect(page.locator(".field-change_reason .errorlist")).to_have_text(
        uzbek("Say why you are changing this record; the reason is kept in its history.")
    )
    expect(page.locator("textarea#id_change_reason")).to_have_attribute("aria-invalid", "true")
    subject.refresh_from_db()
    assert subject.full_name == old_name
    assert DataSubject.history.filter(id=subject.pk).count() == history_rows

    # The form kept what was typed; the agent only adds the reason.
    expect(page.locator("#id_full_name")).to_have_value(new_name)
    page.fill("textarea#id_change_reason", reason)
    page.click('input[name="_continue"]')
    expect(page.locator(".messagelist .success")).to_be_visible()
    subject.refresh_from_db()
    assert subject.full_name == new_name

    newest = history_panel(page, subject).locator("tbody tr").first
    expect(newest).to_contain_text(reason)
    expect(newest).to_contain_text(agent.username)
    expect(newest).to_contain_text(uzbek(DataSubject._meta.get_field("full_name").verbose_name))
