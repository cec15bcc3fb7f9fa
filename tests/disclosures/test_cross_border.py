"""Cross-border transfer (ZRU-547 art. 15 as amended by ZRU-1125 of 26.03.2026): a recipient abroad names
its mechanism, a disclosure to it is checked against that mechanism, and the RoPA shows it."""

import importlib
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from shipex_privacy.accounts.roles import COMPLIANCE_OFFICER
from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.models import PersonalDataField, Purpose
from shipex_privacy.consents.services import ConsentDocument, Evidence, consent_grant
from shipex_privacy.disclosures import ropa
from shipex_privacy.disclosures.models import DisclosedSubject, Recipient
from shipex_privacy.disclosures.services import disclosure_approve, disclosure_submit
from tests.accounts.factories import StaffFactory
from tests.consents.factories import PolicyVersionFactory
from tests.disclosures.factories import DisclosureFactory, RecipientFactory
from tests.disclosures.test_workflow import sent
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db
LAST_WEEK = timezone.now() - timedelta(days=7)


@pytest.fixture
def second_officer():
    return StaffFactory(username="malika", role=COMPLIANCE_OFFICER)


def failures(disclosure):
    return [f"{finding.clause}: {finding.message}" for finding in disclosure.check_ground() if not finding.passed]


def transfer_lines(disclosure):
    return [finding for finding in disclosure.check_ground() if finding.clause == "ZRU-547 art. 15"]


def research_disclosure(recipient, *subjects):
    disclosure = DisclosureFactory(ground="1.4.3.1", recipient=recipient,
                                   purpose=Purpose.objects.get(clause="1.3.2.4"),
                                   fields=[PersonalDataField.objects.get(code="contact.email")])
    for subject in subjects:
        DisclosedSubject.objects.create(disclosure=disclosure, subject=subject)
    return disclosure


def grant(subject, *, cross_border: bool):
    consent_grant(subject=subject, purpose=Purpose.objects.get(clause="1.3.2.4"), recipient_kind="research_partner",
                  actor=None, occurred_at=LAST_WEEK, evidence=Evidence(channel="app"),
                  policy_version=PolicyVersionFactory(published=True),
                  document=ConsentDocument(covered_data=["contact.email"], allows_cross_border_transfer=cross_border))


def test_the_database_refuses_a_recipient_abroad_without_a_mechanism():
    with transaction.atomic(), pytest.raises(IntegrityError):
        RecipientFactory(country="KZ", transfer_mechanism="")
    assert not Recipient.objects.filter(country="KZ").exists()


def test_the_form_asks_for_the_mechanism_its_reference_and_date(compliance_officer):
    recipient = RecipientFactory.build(country="KZ", transfer_mechanism="", transfer_reference="", transfer_date=None)
    with pytest.raises(ValidationError) as refused:
        record_save(instance=recipient, actor=compliance_officer, reason="New partner")
    assert set(refused.value.message_dict) == {"transfer_mechanism", "transfer_reference", "transfer_date"}


def test_the_admin_refuses_a_recipient_abroad_without_a_mechanism_with_a_message(client, compliance_officer):
    client.force_login(compliance_officer)
    client.cookies["django_language"] = "en"
    page = client.post(reverse("admin:disclosures_recipient_add"), {
        "legal_name": "Almaty Research LLP", "country": "KZ", "kind": "research_partner", "active": "on",
        "change_reason": "New research partner",
    })
    assert page.status_code == 200
    assert "Outside Uzbekistan a cross-border transfer mechanism is required." in page.content.decode()
    assert not Recipient.objects.exists()


def test_a_recipient_at_home_needs_no_mechanism_and_gets_no_transfer_line():
    disclosure = research_disclosure(RecipientFactory(kind="research_partner"))
    assert transfer_lines(disclosure) == []


def test_a_foreign_recipient_without_a_mechanism_fails_the_ground_check():
    recipient = RecipientFactory(kind="research_partner", country="KZ")
    disclosure = research_disclosure(recipient)
    # The database refuses such a recipient; the check does not lean on that and judges the row it is given.
    disclosure.recipient.transfer_mechanism = ""
    assert "ZRU-547 art. 15: The recipient is in KZ and has no cross-border transfer mechanism." in failures(disclosure)


def test_a_foreign_recipient_on_standard_clauses_passes_the_line_with_its_reference_and_date():
    disclosure = research_disclosure(RecipientFactory(kind="research_partner", country="KZ",
                                                      transfer_reference="SCC agreement LR-2026/3",
                                                      transfer_date=date(2026, 4, 15)))
    [line] = transfer_lines(disclosure)
    assert line.passed
    assert "Approved standard contractual clauses — SCC agreement LR-2026/3 — 15.04.2026" in line.message


def test_on_the_subjects_consent_each_consent_must_allow_cross_border_transfer():
    recipient = RecipientFactory(kind="research_partner", country="KZ", transfer_mechanism="subject_consent",
                                 transfer_reference="Consent form, section 5")
    allows, refuses = DataSubjectFactory(account_id="SX7100001"), DataSubjectFactory(account_id="SX7100002")
    grant(allows, cross_border=True)
    grant(refuses, cross_border=False)
    disclosure = research_disclosure(recipient, allows, refuses)
    assert failures(disclosure) == [
        "ZRU-547 art. 15: SX7100002 had no consent in force for 1.3.2.4 that allows cross-border transfer at that time."
    ]
    DisclosedSubject.objects.filter(disclosure=disclosure, subject=refuses).delete()
    assert failures(disclosure) == []
    assert [line.message for line in transfer_lines(disclosure)][-1] == (
        "Every subject's consent allows cross-border transfer.")


def test_a_failing_transfer_line_blocks_approval(compliance_officer, second_officer):
    recipient = RecipientFactory(kind="research_partner", country="KZ", transfer_mechanism="subject_consent")
    subject = DataSubjectFactory()
    grant(subject, cross_border=False)
    disclosure = research_disclosure(recipient, subject)
    disclosure.created_by_id = compliance_officer.pk
    disclosure.save()
    disclosure_submit(disclosure=disclosure, actor=compliance_officer)
    with pytest.raises(ValidationError, match="allows cross-border transfer"):
        disclosure_approve(disclosure=disclosure, approver=second_officer)
    disclosure.refresh_from_db()
    assert disclosure.status == "submitted"


def test_the_ropa_shows_the_mechanism_of_systems_and_recipients_abroad(client, compliance_officer, second_officer):
    court = RecipientFactory(kind="state_authority", country="KZ", legal_name="Almaty city court",
                             transfer_mechanism="adequate_country", transfer_reference="Adequacy list, item 3",
                             transfer_date=date(2026, 5, 1))
    sent(compliance_officer, second_officer, [DataSubjectFactory()], recipient=court)
    rows = {(row.field, row.purpose.split()[0]): row for row in ropa.build()}
    assert rows[("identity.full_name", "1.3.2.2")].transfer_mechanism == (
        "Almaty city court (KZ): The country ensures adequate protection — Adequacy list, item 3 — 01.05.2026")
    counters = next(row for row in rows.values() if row.system == "Web analytics counters")
    assert counters.transfer_mechanism.startswith(
        "Web analytics counters (RU): The subject's consent to the cross-border transfer — Visitor's consent")
    assert rows[("contact.phone", "1.3.2.3")].transfer_mechanism == "—"

    client.force_login(compliance_officer)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("admin:disclosures_disclosure_ropa")).content.decode()
    assert "transfer mechanism" in page and "Adequacy list, item 3" in page
    csv = client.get(reverse("admin:disclosures_disclosure_ropa"), {"format": "csv"}).content.decode("utf-8-sig")
    assert "Almaty city court (KZ): The country ensures adequate protection" in csv


def test_the_migration_reads_the_mechanism_from_the_old_text():
    classify = importlib.import_module(
        "shipex_privacy.catalogue.migrations.0008_cross_border_localisation_register").classify
    assert classify("Standard contractual clauses, agreement LR-2026/3") == ("standard_clauses", None)
    assert classify("Согласие субъекта от 01.02.2026") == ("subject_consent", date(2026, 2, 1))
    assert classify("ISO/IEC 27701 certificate") == ("international_standard", None)
    assert classify("Agreement") == ("", None)  # names no mechanism: the migration stops and says so
    assert classify("BCR, and the subject's consent") == ("", None)  # names two: a person decides
