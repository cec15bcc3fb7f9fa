"""Issue 4's journey: an officer drafts a 1.4.3.3 disclosure for a court request with three subjects,
a second officer approves and sends it, an auditor finds it in the history and on each subject's page.

Three people, three browser contexts (three sessions), all in the admin's default language, Uzbek;
expected texts are looked up in the translation catalogue (``uzbek``), so the test keeps passing as
the translations are filled in. Elements are found by their ids, names and links.

The catalogue entries and the purpose used here (identity.full_name, contact.phone, 1.3.2.2) are
seeded by migration catalogue 0002, which the ``catalogue`` fixture replays after the live server's
flush; the services of catalogue 0004 play no part in a 1.4.3.3 disclosure.
"""

import hashlib
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from shipex_privacy.accounts.roles import AUDITOR, COMPLIANCE_OFFICER
from shipex_privacy.catalogue.models import PersonalDataField, Purpose
from shipex_privacy.consents.models import RecipientKind
from shipex_privacy.disclosures.models import DisclosedSubject, Disclosure
from tests.accounts.factories import StaffFactory
from tests.browser.conftest import ARTIFACTS, REPORTS
from tests.browser.test_role_journeys import uzbek
from tests.disclosures.factories import RecipientFactory
from tests.subjects.factories import DataSubjectFactory

DISCLOSURE_LIST = "/admin/disclosures/disclosure/"
DISCLOSURE_ADD = f"{DISCLOSURE_LIST}add/"
SUBJECT_PAGE = "/admin/subjects/datasubject/{pk}/change/"
STEPS = ("submit", "approve", "return", "send", "correct")

COURT = "Toshkent shahar Yunusobod tumani sudi"
DOCUMENT_NUMBER = "2-1234/2026"
COURT_REQUEST = "Ajrim: 2-1234/2026-sonli fuqarolik ishi boʻyicha uch mijozning ism-sharifi va telefon raqamlari."
DISCLOSED_FIELDS = ("contact.phone", "identity.full_name")  # in the catalogue's order: category, then code
PURPOSE = "1.3.2.2"
CREATION_REASON = "Sud soʻrovi 2-1234/2026"
# What officer B pastes from the file handed to the court: its SHA-256, as a checksum tool prints it.


def disclosure_url(disclosure, step="change") -> str:
    return f"{DISCLOSURE_LIST}{disclosure.pk}/{step}/"


@pytest.fixture
def open_page(request, browser, browser_locale, live_server):
    """``open_page()``: a page in a browser context of its own, so another staff member's session.

    Set up like the ``page`` fixture; on failure every such page is screenshotted too.
    """
    pages = []

    def new_page():
        context = browser.new_context(locale=browser_locale, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        pages.append(context.new_page())
        return pages[-1]

    yield new_page
    failed = any(report.failed for report in request.node.stash.get(REPORTS, {}).values())
    for number, page in enumerate(pages, start=2):
        if failed:
            ARTIFACTS.mkdir(exist_ok=True)
            name = re.sub(r"[^\w.-]+", "_", request.node.name)
            page.screenshot(path=ARTIFACTS / f"failed-{name}-session{number}.png", full_page=True)
        page.context.close()


@pytest.fixture
def court(catalogue):
    """The court that asks, as a recipient (a state authority, no contract), and the three subjects."""
    recipient = RecipientFactory(
        legal_name=COURT,
        tin="201234567",
        kind=RecipientKind.STATE_AUTHORITY,
        contract_reference="",
        contract_starts_on=None,
    )
    return recipient, DataSubjectFactory.create_batch(3)


def step_confirm(page):
    """The step page's confirming button (its label is the step's translated title)."""
    return page.locator('#content-main form input[type="submit"].default')


def test_court_disclosure_is_drafted_approved_sent_and_audited(page, open_page, login, live_server, court, artifacts):
    recipient, subjects = court
    # Their own first names, so that each screenshot's "Welcome, …" tells whose session it is.
    nodira = StaffFactory(username="nodira", first_name="Nodira", last_name="Yusupova", role=COMPLIANCE_OFFICER)
    malika = StaffFactory(username="malika", first_name="Malika", last_name="Rahimova", role=COMPLIANCE_OFFICER)
    gulnora = StaffFactory(username="gulnora", first_name="Gulnora", last_name="Azimova", role=AUDITOR)
    document_date = timezone.localdate() - timedelta(days=4)
    fields = {code: PersonalDataField.objects.get(code=code) for code in DISCLOSED_FIELDS}

    # --- Officer A drafts the disclosure ---------------------------------------------------------------
    login(page, nodira)
    page.click(f'a.addlink[href="{DISCLOSURE_ADD}"]')
    page.wait_for_url(f"**{DISCLOSURE_ADD}")
    # A new draft has no checklist or workflow yet: they come once it is saved.
    expect(page.locator(".field-ground_check")).to_have_count(0)
    expect(page.locator(".field-status")).to_have_count(0)
    page.select_option("#id_recipient", str(recipient.pk))
    page.select_option("#id_ground", Disclosure.Ground.LAW.value)
    page.select_option("#id_purpose", str(Purpose.objects.get(clause=PURPOSE).pk))
    page.fill("#id_recipient_request", COURT_REQUEST)
    page.select_option("#id_delivery_method", Disclosure.Delivery.PAPER.value)
    # The two-box widget: pick the fields in "available", then move them to "chosen".
    page.select_option("#id_fields_from", [str(field.pk) for field in fields.values()])
    page.click("#id_fields_add")
    expect(page.locator("#id_fields_to option")).to_have_count(len(fields))
    page.fill("#id_subject_ids", "\n".join(subject.account_id for subject in subjects))
    page.fill("#id_legal_authority", COURT)
    page.fill("#id_legal_document_number", DOCUMENT_NUMBER)
    page.fill("#id_legal_document_date", document_date.strftime("%d.%m.%Y"))
    page.fill("textarea#id_change_reason", CREATION_REASON)
    page.screenshot(path=artifacts / "disclosure-add.png", full_page=True)
    page.click('input[name="_continue"]')

    expect(page.locator(".messagelist .success")).to_be_visible()
    disclosure = Disclosure.objects.get(legal_document_number=DOCUMENT_NUMBER)
    page.wait_for_url(f"**{disclosure_url(disclosure)}")
    assert (disclosure.status, disclosure.created_by_username) == (Disclosure.Status.DRAFT, "nodira")
    assert disclosure.ground == "1.4.3.3"
    assert sorted(disclosure.fields.values_list("code", flat=True)) == sorted(DISCLOSED_FIELDS)
    assert sorted(disclosure.disclosed_subjects.values_list("subject_id", flat=True)) == sorted(
        subject.pk for subject in subjects
    )

    # The checklist for 1.4.3.3: every line passed, each one saying what it checked.
    checklist = page.locator(".field-ground_check ul.ground-check")
    expect(checklist.locator("li.failed")).to_have_count(0)
    expect(checklist.locator("li.passed")).to_have_count(3)  # fields, a state authority, the reference
    expect(checklist.locator("li").nth(0)).to_have_text(
        "✓ 1.4.3.3: " + uzbek("Fields disclosed: %(codes)s.") % {"codes": ", ".join(DISCLOSED_FIELDS)}
    )
    expect(checklist.locator("li").nth(1)).to_have_text(
        "✓ 1.4.3.3: " + uzbek("The recipient is a state authority acting under the law.")
    )
    expect(checklist.locator("li").nth(2)).to_have_text(
        "✓ 1.4.3.3: "
        + uzbek("Legal reference: %(authority)s, № %(number)s of %(date)s.")
        % {"authority": COURT, "number": DOCUMENT_NUMBER, "date": document_date.strftime("%d.%m.%Y")}
    )
    # Still a draft: its subjects are in the textarea, editable.
    expect(page.locator("#id_subject_ids")).to_have_value("\n".join(sorted(subject.account_id for subject in subjects)))
    page.screenshot(path=artifacts / "disclosure-draft-ground-check.png", full_page=True)

    page.click(f'.object-tools a[href="{disclosure_url(disclosure, "submit")}"]')
    page.wait_for_url(f"**{disclosure_url(disclosure, 'submit')}")
    expect(page.locator("#content-main ul.ground-check li.failed")).to_have_count(0)
    page.screenshot(path=artifacts / "disclosure-submit-confirm.png", full_page=True)
    step_confirm(page).click()
    page.wait_for_url(f"**{disclosure_url(disclosure)}")
    expect(page.locator(".messagelist .success")).to_be_visible()
    disclosure.refresh_from_db()
    assert disclosure.status == Disclosure.Status.SUBMITTED
    # Submitted: nothing to edit any more.
    expect(page.locator('input[name="_save"], input[name="_continue"]')).to_have_count(0)
    expect(page.locator(f'a[href="{disclosure_url(disclosure, "submit")}"]')).to_have_count(0)

    # Officer A has the approval permission, but never for their own disclosure (four eyes).
    page.goto(f"{live_server.url}{disclosure_url(disclosure, 'approve')}")
    step_confirm(page).click()
    page.wait_for_url(f"**{disclosure_url(disclosure)}")
    expect(page.locator(".messagelist .error")).to_have_text(
        uzbek("You created this disclosure; another officer must approve it.")
    )
    expect(page.locator(".messagelist .success")).to_have_count(0)
    page.screenshot(path=artifacts / "disclosure-own-approval-refused.png", full_page=True)
    disclosure.refresh_from_db()
    assert (disclosure.status, disclosure.approved_by_id, disclosure.approved_at) == (
        Disclosure.Status.SUBMITTED,
        None,
        None,
    )

    # --- Officer B approves and sends it ---------------------------------------------------------------
    second = login(open_page(), malika)
    expect(second.locator("#user-tools strong")).to_have_text("Malika")
    second.click(f'th a[href="{DISCLOSURE_LIST}"]')
    second.wait_for_url(f"**{DISCLOSURE_LIST}")
    second.locator("#result_list").locator(f'a[href^="{disclosure_url(disclosure)}"]').click()
    second.wait_for_url(f"**{disclosure_url(disclosure)}*")

    second.click(f'.object-tools a[href="{disclosure_url(disclosure, "approve")}"]')
    second.wait_for_url(f"**{disclosure_url(disclosure, 'approve')}")
    expect(second.locator("#content-main ul.ground-check li.passed")).to_have_count(3)
    expect(second.locator("#content-main ul.ground-check li.failed")).to_have_count(0)
    second.screenshot(path=artifacts / "disclosure-approve-confirm.png", full_page=True)
    step_confirm(second).click()
    second.wait_for_url(f"**{disclosure_url(disclosure)}")
    expect(second.locator(".messagelist .success")).to_be_visible()
    expect(second.locator(".messagelist .error")).to_have_count(0)
    disclosure.refresh_from_db()
    assert (disclosure.status, disclosure.approved_by_username) == (Disclosure.Status.APPROVED, "malika")

    second.click(f'.object-tools a[href="{disclosure_url(disclosure, "send")}"]')
    second.wait_for_url(f"**{disclosure_url(disclosure, 'send')}")
    # Nothing to type: the step previews the file it builds (three subjects, the approved fields).
    expect(second.locator("#id_payload_sha256, #id_record_count")).to_have_count(0)
    expect(second.locator(".step-preview")).to_contain_text("3")
    for field in disclosure.fields.all():
        expect(second.locator(".step-preview")).to_contain_text(field.code)
    second.screenshot(path=artifacts / "disclosure-send-confirm.png", full_page=True)
    step_confirm(second).click()
    second.wait_for_url(f"**{disclosure_url(disclosure)}")
    expect(second.locator(".messagelist .success")).to_be_visible()
    expect(second.locator(".messagelist .error")).to_have_count(0)

    # Sent, hence frozen: read-only, and the only way forward is a correction.
    expect(second.locator(".field-status .readonly")).to_have_text(uzbek(Disclosure.Status.SENT.label))
    expect(second.locator('input[name="_save"], input[name="_continue"]')).to_have_count(0)
    expect(second.locator("textarea#id_change_reason, #id_subject_ids")).to_have_count(0)
    expect(second.locator(f'.object-tools a[href="{disclosure_url(disclosure, "correct")}"]')).to_have_count(1)
    # The file it sent is downloaded from the page, and is the one its SHA-256 names.
    with second.expect_download() as download:
        second.click(f'.object-tools a[href="{disclosure_url(disclosure, "export")}"]')
    downloaded = hashlib.sha256(Path(download.value.path()).read_bytes()).hexdigest()
    for step in ("submit", "approve", "return", "send"):
        expect(second.locator(f'a[href="{disclosure_url(disclosure, step)}"]')).to_have_count(0)
    # The subjects are listed with their notification: none is due, a court is a state body.
    inline = second.locator(".inline-related tbody tr.has_original")
    expect(inline).to_have_count(3)
    for subject in subjects:
        expect(inline.filter(has_text=subject.account_id)).to_contain_text(
            uzbek(DisclosedSubject.Exemption.STATE_BODY.label)
        )
    second.screenshot(path=artifacts / "disclosure-sent.png", full_page=True)

    disclosure.refresh_from_db()
    assert disclosure.status == Disclosure.Status.SENT
    assert (disclosure.approved_by_username, disclosure.approved_by_id) == ("malika", malika.pk)
    assert disclosure.sent_at is not None and disclosure.sent_at >= disclosure.approved_at
    assert (disclosure.record_count, disclosure.payload_sha256) == (3, disclosure.export.sha256)
    assert downloaded == disclosure.payload_sha256
    assert disclosure.manifest["subjects"] == sorted(subject.account_id for subject in subjects)
    assert set(DisclosedSubject.objects.filter(disclosure=disclosure).values_list("exemption", flat=True)) == {
        DisclosedSubject.Exemption.STATE_BODY
    }

    # --- The auditor finds it in the history and on each subject's page ---------------------------------
    audit = login(open_page(), gulnora)
    expect(audit.locator("#user-tools strong")).to_have_text("Gulnora")
    audit.goto(f"{live_server.url}{disclosure_url(disclosure)}")
    # Reads, never acts: no step of the workflow is offered.
    for step in STEPS:
        expect(audit.locator(f'a[href="{disclosure_url(disclosure, step)}"]')).to_have_count(0)
    expect(audit.locator('input[name="_save"], input[name="_continue"]')).to_have_count(0)
    expect(audit.locator(".field-status .readonly")).to_have_text(uzbek(Disclosure.Status.SENT.label))

    audit.click(f'.object-tools a[href="{disclosure_url(disclosure, "history")}"]')
    audit.wait_for_url(f"**{disclosure_url(disclosure, 'history')}")
    history = audit.locator("#change-history tbody")
    who = history.locator("td:nth-child(3)").all_inner_texts()
    why = history.locator("td:nth-child(5)").all_inner_texts()
    # Newest first: malika sent it, malika approved it, nodira submitted it; nodira created it.
    assert list(zip(who, why, strict=True))[:3] == [
        ("malika", uzbek("Sent to %(recipient)s") % {"recipient": COURT}),
        ("malika", uzbek("Approved")),
        ("nodira", uzbek("Submitted for approval")),
    ]
    assert ("nodira", CREATION_REASON) in list(zip(who, why, strict=True))
    audit.screenshot(path=artifacts / "disclosure-history-auditor.png", full_page=True)

    # The auditor may not approve (nor send) anything.
    for step in ("approve", "send"):
        response = audit.goto(f"{live_server.url}{disclosure_url(disclosure, step)}")
        assert response.status == 403
        expect(audit.locator("form")).to_have_count(0)

    link = f'a[href="{disclosure_url(disclosure)}"]'
    for number, subject in enumerate(subjects, start=1):
        audit.goto(f"{live_server.url}{SUBJECT_PAGE.format(pk=subject.pk)}")
        panel = audit.locator("section.subject-panel", has=audit.locator(link))
        expect(panel).to_have_count(1)
        expect(panel.locator("h2")).to_have_text(uzbek("Who received this subject's data"))
        row = panel.locator("tbody tr", has=audit.locator(link))
        expect(row).to_have_count(1)
        expect(row).to_contain_text(COURT)
        expect(row).to_contain_text("1.4.3.3")
        # The fields by their catalogue names, in the subject's panel.
        for code in DISCLOSED_FIELDS:
            expect(row).to_contain_text(PersonalDataField.objects.get(code=code).name_uz)
        expect(row).to_contain_text(uzbek(DisclosedSubject.Exemption.STATE_BODY.label))
        if number == 1:
            panel.scroll_into_view_if_needed()
            audit.screenshot(path=artifacts / "subject-received-panel-auditor.png", full_page=True)

    # From the subject's page back to the disclosure, as an auditor follows the trail.
    panel.locator(link).click()
    audit.wait_for_url(f"**{disclosure_url(disclosure)}")
    expect(audit.locator(".field-legal_document_number .readonly")).to_have_text(DOCUMENT_NUMBER)
