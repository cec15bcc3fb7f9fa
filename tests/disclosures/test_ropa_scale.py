"""RoPA at scale: the disclosures sent are reduced in the database, the page's queries stay the same."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from shipex_privacy.catalogue.models import PersonalDataField
from shipex_privacy.disclosures import ropa
from shipex_privacy.disclosures.models import Disclosure
from shipex_privacy.disclosures.services import (
    disclosure_approve,
    disclosure_send,
    disclosure_set_subjects,
    disclosure_submit,
)
from tests.accounts.factories import StaffFactory
from tests.disclosures.factories import DisclosureFactory, RecipientFactory
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db
ROPA = reverse("admin:disclosures_disclosure_ropa")
CODES = ("identity.full_name", "contact.phone", "contact.email")


@pytest.fixture
def second_officer():
    from shipex_privacy.accounts.roles import COMPLIANCE_OFFICER

    return StaffFactory(username="malika", role=COMPLIANCE_OFFICER)


def court_orders(officer, approver, count, *, recipients, sent_days_ago=0, send=True):
    """``count`` court orders to ``recipients`` in turn, each of one or more catalogue fields."""
    fields = [PersonalDataField.objects.get(code=code) for code in CODES]
    subject = DataSubjectFactory()
    made = []
    for index in range(count):
        disclosure = DisclosureFactory(
            ground="1.4.3.3", recipient=recipients[index % len(recipients)], created_by_id=officer.pk,
            created_by_username=officer.username, legal_authority="Toshkent shahar Yunusobod tumani sudi",
            legal_document_number=f"2-{1000 + index}/2026",
            legal_document_date=timezone.localdate() - timedelta(days=30),
            fields=fields[: 1 + index % len(fields)],
        )
        disclosure_set_subjects(disclosure=disclosure, subjects=[subject], actor=officer, reason="Court order")
        if send:
            disclosure_submit(disclosure=disclosure, actor=officer)
            disclosure_approve(disclosure=disclosure, approver=approver)
            disclosure = disclosure_send(disclosure=disclosure, actor=officer,
                                         sent_at=timezone.now() - timedelta(days=sent_days_ago))
        made.append(disclosure)
    return made


def received_disclosure_by_disclosure(as_of):
    """How the RoPA read its recipients before: every sent disclosure and its fields, in Python."""
    sent = Disclosure.objects.filter(sent_at__isnull=False).prefetch_related("fields")
    if as_of is not None:
        sent = sent.filter(sent_at__lte=as_of)
    received = {}
    for disclosure in sent:
        for field in disclosure.fields.all():
            received.setdefault((disclosure.purpose_id, field.pk), set()).add(disclosure.recipient_id)
    return received


def test_the_ropa_says_what_it_said_when_it_read_every_disclosure(compliance_officer, second_officer,
                                                                   monkeypatch):
    abroad = RecipientFactory(kind="state_authority", country="KZ")
    home = RecipientFactory(kind="state_authority")
    court_orders(compliance_officer, second_officer, 4, recipients=[home], sent_days_ago=10)
    before = timezone.now()  # the RoPA as it stood before the disclosures below were sent
    court_orders(compliance_officer, second_officer, 5, recipients=[abroad, home])
    court_orders(compliance_officer, second_officer, 2, recipients=[RecipientFactory()], send=False)

    ours = {as_of: ropa.build(as_of) for as_of in (None, before)}
    monkeypatch.setattr(ropa, "_received", received_disclosure_by_disclosure)
    assert ours == {as_of: ropa.build(as_of) for as_of in (None, before)}
    now = {(row.field, row.purpose.split()[0]): row for row in ours[None]}
    then = {(row.field, row.purpose.split()[0]): row for row in ours[before]}
    assert abroad.legal_name in now[("contact.phone", "1.3.2.2")].recipients
    assert "KZ" in now[("contact.phone", "1.3.2.2")].cross_border
    assert then[("contact.phone", "1.3.2.2")].recipients == f"{home.legal_name} (UZ)"


def test_the_ropa_page_costs_the_same_queries_however_many_disclosures(client, compliance_officer,
                                                                        second_officer):
    recipients = [RecipientFactory(kind="state_authority"), RecipientFactory(kind="state_authority", country="RU")]
    client.force_login(compliance_officer)
    court_orders(compliance_officer, second_officer, 2, recipients=recipients)
    # A request before each count: Django empties the query log when a request starts, and a log left
    # full by the set-up (it keeps 9000) would make both counts read 0.
    client.get(ROPA)
    with CaptureQueriesContext(connection) as few:
        assert client.get(ROPA).status_code == 200
    court_orders(compliance_officer, second_officer, 12, recipients=recipients)
    client.get(ROPA)
    with CaptureQueriesContext(connection) as many:
        page = client.get(ROPA).content.decode()
    assert len(few) > 10 and len(many) == len(few)
    assert recipients[1].legal_name in page
