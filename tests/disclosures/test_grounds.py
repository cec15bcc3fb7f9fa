"""Each ground of clause 1.4.3, against the situations that allow or refuse it."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from shipex_privacy.catalogue.models import PersonalDataField, Purpose, Service
from shipex_privacy.consents.services import Evidence, consent_grant, consent_withdraw
from shipex_privacy.disclosures.models import DisclosedSubject, PublicChoice
from shipex_privacy.subjects.models import ServiceUse
from tests.consents.factories import PolicyVersionFactory
from tests.disclosures.factories import DisclosureFactory, RecipientFactory
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db
YESTERDAY = timezone.now() - timedelta(days=1)


def field(code):
    return PersonalDataField.objects.get(code=code)


def name_subjects(disclosure, *subjects):
    for subject in subjects:
        DisclosedSubject.objects.create(disclosure=disclosure, subject=subject)


def failures(disclosure):
    return [f"{finding.clause}: {finding.message}" for finding in disclosure.check_ground() if not finding.passed]


@pytest.fixture
def subject():
    return DataSubjectFactory(account_id="SX7000001")


def consent_situation(situation, subject):
    recipient = RecipientFactory(kind="research_partner")
    purpose = Purpose.objects.get(clause="1.3.2.4")
    disclosure = DisclosureFactory(ground="1.4.3.1", recipient=recipient, purpose=purpose,
                                   fields=[field("contact.email")])
    name_subjects(disclosure, subject)
    if situation in ("consent in force", "consent withdrawn", "consent for another kind"):
        kind = "other_controller" if situation == "consent for another kind" else "research_partner"
        event = consent_grant(subject=subject, purpose=purpose, recipient_kind=kind, actor=None,
                              occurred_at=YESTERDAY - timedelta(days=5), evidence=Evidence(channel="app"),
                              policy_version=PolicyVersionFactory(published=True))
        if situation == "consent withdrawn":
            consent_withdraw(consent=event.consent, occurred_at=YESTERDAY, evidence=Evidence(channel="app"),
                             actor=None)
    if situation == "field made public by the subject":
        PublicChoice.objects.create(subject=subject, field=field("contact.email"), made_public_on=date(2025, 3, 1),
                                    evidence="Published on the subject's business page")
    return disclosure


def contract_situation(situation, subject):
    delivery = Service.objects.get(code="domestic-delivery")
    recipient = RecipientFactory(services=[delivery], contract_ends_on=date(2025, 6, 30)
                                 if situation == "contract ended" else None)
    fields = [field("shipment.recipient_name"), field("shipment.delivery_address")]
    if situation == "field the service does not need":
        fields.append(field("document.pinfl"))
    disclosure = DisclosureFactory(ground="1.4.3.2", recipient=recipient, service=delivery, fields=fields)
    name_subjects(disclosure, subject)
    if situation != "subject does not use the service":
        ServiceUse.objects.create(subject=subject, service=delivery, started_on=date(2025, 2, 1))
    return disclosure


def law_situation(situation, subject):
    complete = situation == "complete legal reference"
    disclosure = DisclosureFactory(
        ground="1.4.3.3", recipient=RecipientFactory(kind="state_authority"), fields=[field("identity.full_name")],
        legal_authority="Toshkent shahar Yunusobod tumani sudi",
        legal_document_number="2-1234/2026" if complete else "",
        legal_document_date=date(2026, 11, 20),
    )
    name_subjects(disclosure, subject)
    return disclosure


def transfer_situation(situation, subject):
    accepted = {"obligations accepted before": date(2026, 1, 15), "obligations accepted later":
                timezone.localdate() + timedelta(days=3), "no written acceptance": None}[situation]
    recipient = RecipientFactory(kind="business_acquirer", obligations_accepted_on=accepted,
                                 obligations_document="Acquisition agreement, annex 4" if accepted else "")
    disclosure = DisclosureFactory(ground="1.4.3.4", recipient=recipient, fields=[field("identity.full_name")])
    name_subjects(disclosure, subject)
    return disclosure


def statistics_situation(situation, subject):
    fields = [field("technical.pages")] + ([field("contact.phone")] if situation == "identifying field" else [])
    disclosure = DisclosureFactory(ground="1.4.3.5", recipient=RecipientFactory(kind="research_partner"),
                                   purpose=Purpose.objects.get(clause="1.3.2.6"), fields=fields,
                                   aggregate_only=situation != "subjects named")
    if situation == "subjects named":
        name_subjects(disclosure, subject)
    return disclosure


# ground, situation, builder, expected failure (None: the ground holds)
TABLE = [
    ("1.4.3.1", "consent in force", consent_situation, None),
    ("1.4.3.1", "no consent", consent_situation, "1.4.3.1: SX7000001 had no consent in force"),
    ("1.4.3.1", "consent withdrawn", consent_situation, "1.4.3.1: SX7000001 had no consent in force"),
    ("1.4.3.1", "consent for another kind", consent_situation, "1.4.3.1: SX7000001 had no consent in force"),
    ("1.4.3.1", "field made public by the subject", consent_situation, None),
    ("1.4.3.2", "contract and service in order", contract_situation, None),
    ("1.4.3.2", "contract ended", contract_situation, "1.4.3.2: Contract DPA-2026/"),
    ("1.4.3.2", "field the service does not need", contract_situation,
     "1.4.3.2: Fields the service does not need: document.pinfl."),
    ("1.4.3.2", "subject does not use the service", contract_situation, "1.4.3.2: SX7000001 does not use"),
    ("1.4.3.3", "complete legal reference", law_situation, None),
    ("1.4.3.3", "document number missing", law_situation, "1.4.3.3: Legal reference:"),
    ("1.4.3.4", "obligations accepted before", transfer_situation, None),
    ("1.4.3.4", "obligations accepted later", transfer_situation, "1.4.3.4: The acquirer accepted"),
    ("1.4.3.4", "no written acceptance", transfer_situation, "1.4.3.4: The acquirer accepted"),
    ("1.4.3.5", "aggregate, no identifying field", statistics_situation, None),
    ("1.4.3.5", "identifying field", statistics_situation,
     "1.4.3.5: Fields that identify a person on their own: contact.phone."),
    ("1.4.3.5", "subjects named", statistics_situation, "1.4.3.5: Aggregate data only, no subjects named."),
]


@pytest.mark.parametrize(("ground", "situation", "build", "expected"), TABLE,
                         ids=[f"{row[0]} {row[1]}" for row in TABLE])
def test_ground_against_situation(ground, situation, build, expected, subject):
    disclosure = build(situation, subject)
    assert disclosure.ground == ground
    found = failures(disclosure)
    if expected is None:
        assert found == []
        assert disclosure.ground_holds()
    else:
        assert any(message.startswith(expected) for message in found), found
        assert not disclosure.ground_holds()
