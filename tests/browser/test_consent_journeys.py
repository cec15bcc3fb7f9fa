"""Issue 3's journeys: a compliance officer publishes a new policy version; a support agent records
a subject's withdrawal of advertising consent from the subject page, in two clicks.

The interface stays in its default language, Uzbek; expected texts are looked up in the
translation catalogue (``uzbek``), so these tests keep passing as the translations are filled in.
"""

from datetime import date, timedelta

import pytest
from django.utils import timezone, translation
from django.utils.formats import date_format
from playwright.sync_api import expect

from shipex_privacy.accounts.roles import COMPLIANCE_OFFICER, SUPPORT_AGENT
from shipex_privacy.catalogue.models import Purpose
from shipex_privacy.consents.models import Consent, ConsentEvent, PolicyVersion
from shipex_privacy.consents.services import Evidence, consent_grant
from tests.accounts.factories import StaffFactory
from tests.browser.test_role_journeys import national_format, uzbek
from tests.consents.factories import PolicyVersionFactory
from tests.subjects.factories import DataSubjectFactory

POLICY_LIST = "/admin/consents/policyversion/"
POLICY_ADD = f"{POLICY_LIST}add/"
SUBJECT_LIST = "/admin/subjects/datasubject/"
CONSENT_PAGE = "/admin/consents/consent/{pk}/change/"
WITHDRAW = "/admin/consents/consent/{pk}/withdraw/"
RECEIPT = "/admin/consents/consentevent/{pk}/receipt/"
ADVERTISING = "1.3.2.5"

OLD_TEXTS = {
    "uz": "1.1 Xizmatdan foydalanish ushbu siyosatga roziligingizni bildiradi.",
    "ru": "1.1 Пользуясь Сервисом, вы соглашаетесь с этой политикой.",
    "en": "1.1 Using the Service means consent to this policy.",
}
# Clause 1.6.4 is new in this version: the comparison must show it as an added line.
ADDED_LINES = {
    "uz": "1.6.4 ShipEx hisoblagichlar parametrlarini oldindan xabar bermasdan oʻzgartirishi mumkin.",
    "ru": "1.6.4 ShipEx может менять параметры счётчиков без предварительного уведомления.",
    "en": "1.6.4 ShipEx may change the parameters of counters without notice.",
}


def russian(text: str) -> str:
    with translation.override("ru"):
        return translation.gettext(text)


# --- A compliance officer publishes a new policy version --------------------------------------------


@pytest.fixture
def published_version(transactional_db):
    """The version in force today, published long ago: the one the new version is compared with."""
    return PolicyVersionFactory(
        published=True,
        version="2025.1",
        effective_date=date(2025, 1, 1),
        text_uz=OLD_TEXTS["uz"],
        text_ru=OLD_TEXTS["ru"],
        text_en=OLD_TEXTS["en"],
    )


def test_compliance_officer_publishes_a_new_policy_version(page, login, live_server, published_version, artifacts):
    officer = StaffFactory(username="nodira", role=COMPLIANCE_OFFICER)
    effective = timezone.localdate() + timedelta(days=30)
    login(page, officer)

    page.click(f'th a[href="{POLICY_LIST}"]')
    page.wait_for_url(f"**{POLICY_LIST}")
    expect(page.locator("#result_list")).to_contain_text(published_version.version)
    page.click(f'a.addlink[href="{POLICY_ADD}"]')
    page.wait_for_url(f"**{POLICY_ADD}")

    page.fill("#id_version", "2026.1")
    # Typed the way the Uzbek admin's date widget writes it.
    page.fill("#id_effective_date", effective.strftime("%d.%m.%Y"))
    for language in ("uz", "ru", "en"):
        page.fill(f"#id_text_{language}", f"{OLD_TEXTS[language]}\n{ADDED_LINES[language]}")
    # On adding, the reason is optional; the officer gives one anyway.
    expect(page.locator("textarea#id_change_reason")).to_have_count(1)
    page.fill("textarea#id_change_reason", "Clause 1.6.4 on counters added")
    page.screenshot(path=artifacts / "policy-version-add.png", full_page=True)
    page.click('input[name="_save"]')

    page.wait_for_url(f"**{POLICY_LIST}")
    expect(page.locator(".messagelist .success")).to_be_visible()
    version = PolicyVersion.objects.get(version="2026.1")
    assert version.effective_date == effective
    assert not version.is_published
    assert version.text_en.splitlines() == [OLD_TEXTS["en"], ADDED_LINES["en"]]

    # Open it from the list: a draft, still editable, with a "Publish" tool.
    change = f"{POLICY_LIST}{version.pk}/change/"
    publish = f"{POLICY_LIST}{version.pk}/publish/"
    page.locator("#result_list").locator(f'a[href="{change}"]').click()
    page.wait_for_url(f"**{change}")
    expect(page.locator('input[name="_save"]')).to_have_count(1)
    expect(page.locator("textarea#id_text_en")).to_have_count(1)

    page.click(f'.object-tools a[href="{publish}"]')
    page.wait_for_url(f"**{publish}")
    # The confirmation names the version and the hash that publishing freezes.
    expect(page.locator("#content-main")).to_contain_text(version.content_hash)
    page.screenshot(path=artifacts / "policy-version-publish-confirm.png", full_page=True)
    page.click('input[name="publish"]')

    page.wait_for_url(f"**{change}")
    expect(page.locator(".messagelist .success")).to_have_text(
        uzbek("Version %(version)s is published and can no longer be changed.") % {"version": "2026.1"}
    )
    version.refresh_from_db()
    assert version.published_at is not None
    # Frozen: nothing to edit, nothing to save, nothing to publish again.
    expect(page.locator('input[name="_save"], input[name="_continue"]')).to_have_count(0)
    expect(page.locator("textarea#id_text_en")).to_have_count(0)
    expect(page.locator("textarea#id_change_reason")).to_have_count(0)
    expect(page.locator(f'a[href="{publish}"]')).to_have_count(0)
    page.screenshot(path=artifacts / "policy-version-published.png", full_page=True)

    # What changed since the version in force: the new clause, as an added line, in each language.
    compare = f"{POLICY_LIST}{version.pk}/compare/"
    page.click(f'.object-tools a[href="{compare}"]')
    page.wait_for_url(f"**{compare}")
    page.select_option("#id_other", str(published_version.pk))
    page.click('#content-main form [type="submit"]')
    page.wait_for_url(f"**{compare}?other={published_version.pk}")
    added = page.locator("table.policy-diff tr.added")
    expect(added).to_have_count(3)
    for language in ("uz", "ru", "en"):
        expect(added.filter(has_text=ADDED_LINES[language])).to_have_count(1)
    expect(added.first).to_contain_text("2026.1")
    expect(page.locator("table.policy-diff tr.removed")).to_have_count(0)
    page.screenshot(path=artifacts / "policy-version-compare.png", full_page=True)


# --- A support agent records a withdrawal of advertising consent -------------------------------------


@pytest.fixture
def advertising_consent(catalogue):
    """A Russian-speaking subject whose advertising consent (1.3.2.5) was given in the app yesterday.

    The `catalogue` fixture also brings back the purposes, which the same migration seeds.
    """
    subject = DataSubjectFactory(preferred_language="ru")
    policy = PolicyVersionFactory(published=True, version="2025.1", effective_date=date(2025, 1, 1))
    return consent_grant(
        subject=subject,
        purpose=Purpose.objects.get(clause=ADVERTISING),
        policy_version=policy,
        actor=None,
        occurred_at=timezone.now() - timedelta(days=1),
        evidence=Evidence(channel="app"),
    ).consent


def consent_panel(page, consent):
    """The subject page's "Privacy policy and consents" section: the one that lists this consent."""
    return page.locator("section.subject-panel", has=page.locator(f'a[href="{CONSENT_PAGE.format(pk=consent.pk)}"]'))


def test_support_agent_records_a_withdrawal_from_the_subject_page(
    page, login, live_server, advertising_consent, artifacts
):
    consent, subject = advertising_consent, advertising_consent.subject
    agent = StaffFactory(username="jasur", role=SUPPORT_AGENT)
    login(page, agent)

    # Find the subject by the phone number the caller reads out, and open the subject page.
    page.click(f'th a[href="{SUBJECT_LIST}"]')
    page.fill("#searchbar", national_format(subject.phone))
    page.press("#searchbar", "Enter")
    page.wait_for_url(f"**{SUBJECT_LIST}?q=*")
    results = page.locator("#result_list tbody tr")
    expect(results).to_have_count(1)
    results.get_by_role("link", name=subject.account_id).click()
    page.wait_for_url(f"**{SUBJECT_LIST}{subject.pk}/change/?*")
    subject_page = page.url

    panel = consent_panel(page, consent)
    expect(panel).to_have_count(1)
    expect(panel.locator("h2")).to_have_text(uzbek("Privacy policy and consents"))
    row = panel.locator("tbody tr", has=page.locator(f'a[href="{CONSENT_PAGE.format(pk=consent.pk)}"]'))
    expect(row).to_contain_text(ADVERTISING)
    expect(row.locator("td").nth(2)).to_have_text(uzbek("In force"))
    withdraw = row.locator(f'a.button[href^="{WITHDRAW.format(pk=consent.pk)}?next="]')
    expect(withdraw).to_have_text(uzbek("Withdraw"))
    panel.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "subject-consent-in-force.png", full_page=True)

    # Click 1: "Withdraw" leads to the confirmation, with the moment and channel filled in.
    withdraw.click()
    page.wait_for_url(f"**{WITHDRAW.format(pk=consent.pk)}?next=**")
    expect(page.locator("#content-main")).to_contain_text(subject.full_name)
    expect(page.locator("#id_occurred_at")).not_to_have_value("")
    expect(page.locator("#id_channel")).to_have_value("call_centre")
    page.screenshot(path=artifacts / "consent-withdraw-confirm.png", full_page=True)

    # Click 2: "Confirm withdrawal" records it and brings the agent back to the subject page.
    page.click('input[type="submit"][name="confirm"]')
    page.wait_for_url(subject_page)
    expect(page.locator(".messagelist .success")).to_have_text(
        uzbek("Withdrawal of consent to %(clause)s recorded.") % {"clause": ADVERTISING}
    )

    consent.refresh_from_db()
    assert consent.state == Consent.State.WITHDRAWN
    assert not consent.is_in_force()
    event = consent.events.get(kind=ConsentEvent.Kind.WITHDRAW)
    assert (event.recorded_by_id, event.recorded_by_username, event.channel) == (agent.pk, "jasur", "call_centre")
    assert event.occurred_at == consent.withdrawn_at

    panel = consent_panel(page, consent)
    row = panel.locator("tbody tr", has=page.locator(f'a[href="{CONSENT_PAGE.format(pk=consent.pk)}"]'))
    with translation.override("uz"):  # the page's language, not the test's
        withdrawn_on = date_format(timezone.localtime(consent.withdrawn_at), "SHORT_DATE_FORMAT")
    expect(row.locator("td").nth(2)).to_have_text(uzbek("Withdrawn %(date)s") % {"date": withdrawn_on})
    expect(page.locator(f'a[href^="{WITHDRAW.format(pk=consent.pk)}"]')).to_have_count(0)
    panel.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "subject-consent-withdrawn.png", full_page=True)

    # The consent's page keeps both events; the withdrawal's receipt is in the subject's language.
    row.locator(f'a[href="{CONSENT_PAGE.format(pk=consent.pk)}"]').click()
    page.wait_for_url(f"**{CONSENT_PAGE.format(pk=consent.pk)}")
    receipt_link = page.locator(f'a[href="{RECEIPT.format(pk=event.pk)}"]')
    expect(receipt_link).to_have_count(1)
    expect(page.locator(f'a[href^="{WITHDRAW.format(pk=consent.pk)}"]')).to_have_count(0)
    page.screenshot(path=artifacts / "consent-page-events.png", full_page=True)

    with page.context.expect_page() as opened:
        receipt_link.click()
    receipt = opened.value
    receipt.wait_for_load_state()
    assert receipt.url == f"{live_server.url}{RECEIPT.format(pk=event.pk)}"
    expect(receipt.locator("html")).to_have_attribute("lang", "ru")
    expect(receipt.locator("h1")).to_have_text(russian("Withdrawal of consent"))
    body = receipt.locator("body")
    expect(body).to_contain_text(f"{subject.full_name} ({subject.account_id})")
    expect(body).to_contain_text(ADVERTISING)
    expect(body).to_contain_text("jasur")
    # Dates are written the Russian way ("25 ноября 2026 г. 14:30"), from Django's own catalogue.
    with translation.override("ru"):
        withdrawn_when = date_format(timezone.localtime(event.occurred_at), "DATETIME_FORMAT")
    expect(body).to_contain_text(withdrawn_when)
    receipt.screenshot(path=artifacts / "consent-withdrawal-receipt.png", full_page=True)
    receipt.close()
