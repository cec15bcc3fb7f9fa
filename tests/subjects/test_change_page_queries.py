"""The subject page costs the same few queries however much the subject has behind it (issue 15).

Each role that opens the page sees its own panels (history, consents, disclosures) and the address
inline, masked or not; the access-log row written for the open is part of the page and is counted.
"""

import re
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from shipex_privacy.accounts.roles import AUDITOR, COMPLIANCE_OFFICER, SUPPORT_AGENT
from shipex_privacy.audit.models import AccessEvent
from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.models import PersonalDataField, Purpose, Service
from shipex_privacy.consents.models import RecipientKind
from shipex_privacy.consents.services import Evidence, consent_grant, policy_accept
from shipex_privacy.disclosures.services import (
    disclosure_approve,
    disclosure_send,
    disclosure_set_subjects,
    disclosure_submit,
)
from shipex_privacy.subjects.models import ServiceUse
from tests.accounts.factories import StaffFactory
from tests.consents.factories import PolicyVersionFactory
from tests.disclosures.factories import DisclosureFactory, RecipientFactory
from tests.retention.factories import LegalHoldFactory
from tests.rights_requests.factories import SubjectRequestFactory
from tests.subjects.factories import AddressFactory, DataSubjectFactory

pytestmark = pytest.mark.django_db

# Issue 15's page, with issue 13's panels (requests, legal holds, services used) and for a superuser too.
MAX_QUERIES = 15
TRANSACTION_CONTROL = re.compile(r"\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b", re.IGNORECASE)


@pytest.fixture
def officers():
    return (StaffFactory(username="nodira", role=COMPLIANCE_OFFICER),
            StaffFactory(username="malika", role=COMPLIANCE_OFFICER))


def subject_with(size: int, officers) -> object:
    """A subject with ``size`` of everything the page shows: addresses, changes, policy acceptances,
    consents, sent disclosures, requests, legal holds and services used."""
    officer, approver = officers
    subject = DataSubjectFactory()
    for number in range(size):
        address = AddressFactory(subject=subject)
        address.landmark = f"{address.landmark} ({number})"
        record_save(instance=address, actor=officer, reason=f"DSR #{number}: the subject corrected the landmark")
        subject.full_name = f"{subject.full_name.split(' #')[0]} #{number}"
        record_save(instance=subject, actor=officer, reason=f"DSR #{number}: the subject corrected the name")
    versions = [PolicyVersionFactory(published=True) for _ in range(size)]
    for number, version in enumerate(versions):
        policy_accept(subject=subject, version=version, accepted_at=timezone.now() - timedelta(hours=size - number),
                      channel="app", actor=None)
    scopes = [(purpose, kind) for purpose in Purpose.objects.order_by("clause") for kind in ["", *RecipientKind.values]]
    granted = 0
    while granted < size:
        purpose, kind = scopes.pop(0)
        try:
            consent_grant(
                subject=subject, purpose=purpose, recipient_kind=kind, policy_version=versions[-1], actor=None,
                occurred_at=timezone.now() - timedelta(minutes=size - granted), evidence=Evidence(channel="app"),
            )
        except ValidationError:
            continue  # a scope the purpose does not take
        granted += 1
    fields = list(PersonalDataField.objects.filter(code__in=["identity.full_name", "contact.phone"]))
    for _ in range(size):
        disclosure = DisclosureFactory(
            ground="1.4.3.3", recipient=RecipientFactory(kind="state_authority"),
            created_by_id=officer.pk, created_by_username=officer.username,
            legal_authority="Toshkent shahar Yunusobod tumani sudi", legal_document_number="2-1234/2026",
            legal_document_date=date(2026, 11, 20), fields=fields,
        )
        disclosure_set_subjects(disclosure=disclosure, subjects=[subject], actor=officer, reason="Court order")
        disclosure_submit(disclosure=disclosure, actor=officer)
        disclosure_approve(disclosure=disclosure, approver=approver)
        disclosure_send(disclosure=disclosure, actor=officer)
    for _ in range(size):
        SubjectRequestFactory(subject=subject)
    for number in range(size):
        LegalHoldFactory(subject=subject, legal_reference=f"Tashkent city court, case 4-{number}")
    for service in Service.objects.all()[:size]:
        record_save(instance=ServiceUse(subject=subject, service=service, started_on=date(2025, 3, 1)),
                    actor=officer, reason="Signed up")
    return subject


def page_queries(client, subject) -> list[str]:
    """The statements of one open of the subject page, its access-log row included.

    Transaction control is left out: the test runs inside a transaction, so each ``atomic()`` of the
    page (the access-log row, the session's save) becomes SAVEPOINT and RELEASE statements here; in
    production they are a transaction's own BEGIN and COMMIT, which Django does not count as queries.
    """
    views = AccessEvent.objects.filter(action=AccessEvent.Action.SUBJECT_VIEW, subject_id=subject.pk)
    before = views.count()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:subjects_datasubject_change", args=[subject.pk]))
    assert response.status_code == 200
    assert views.count() == before + 1
    return [query["sql"] for query in queries.captured_queries if not TRANSACTION_CONTROL.match(query["sql"])]


def test_the_subject_page_costs_the_same_few_queries_with_2_or_20_of_everything(
        client, officers, django_capture_on_commit_callbacks):
    few, many = subject_with(2, officers), subject_with(20, officers)
    readers = [StaffFactory(username=f"{role.lower().replace(' ', '_')}_reader", role=role)
               for role in (COMPLIANCE_OFFICER, SUPPORT_AGENT, AUDITOR)]
    readers.append(StaffFactory(username="root", is_superuser=True))  # sees every panel, asks no permission
    for reader in readers:
        role = reader.username
        client.force_login(reader)
        # Once, committed as in production: the access log's digest keeps the ids of its table and
        # row layout after their first commit, so later pages do not read them again.
        with django_capture_on_commit_callbacks(execute=True):
            client.get(reverse("admin:subjects_datasubject_change", args=[few.pk]))
        few_queries, many_queries = page_queries(client, few), page_queries(client, many)
        assert len(many_queries) == len(few_queries), (role, "\n".join(many_queries))
        assert len(many_queries) <= MAX_QUERIES, (role, "\n".join(many_queries))


def test_the_consents_panel_reads_the_same_from_the_subjects_row_as_on_its_own(client, officers, support_agent):
    from shipex_privacy.consents.panels import consent_panel_context
    from shipex_privacy.subjects.models import DataSubject

    subject = subject_with(3, officers)
    client.force_login(support_agent)
    response = client.get(reverse("admin:subjects_datasubject_change", args=[subject.pk]))
    page = next(panel for panel in response.context["subject_panels"]
                if panel["template"] == "admin/consents/subject_panel.html")
    alone = consent_panel_context(response.wsgi_request, DataSubject.objects.get(pk=subject.pk))
    assert page["version_in_force"] == alone["version_in_force"]
    assert page["version_in_force"].version == alone["version_in_force"].version
    shown, read = page["last_accepted"], alone["last_accepted"]
    assert (shown.pk, shown.accepted_at, shown.get_channel_display(), shown.version.version, shown.ip_address) == (
        read.pk, read.accepted_at, read.get_channel_display(), read.version.version, read.ip_address)
    assert page["consents"] == alone["consents"]


def test_the_services_and_legal_holds_panels_read_the_same_from_the_subjects_row_as_on_their_own(
        client, officers, compliance_officer):
    from shipex_privacy.retention.panels import legal_holds_panel_context
    from shipex_privacy.retention.services import legal_hold_release
    from shipex_privacy.subjects.admin import services_panel_context
    from shipex_privacy.subjects.models import DataSubject

    subject = subject_with(3, officers)
    legal_hold_release(hold=subject.legal_holds.order_by("placed_at").first(), reason="Case closed",
                       actor=officers[0])  # a released hold goes after those in force
    client.force_login(compliance_officer)
    response = client.get(reverse("admin:subjects_datasubject_change", args=[subject.pk]))
    alone = DataSubject.objects.get(pk=subject.pk)
    for template, context in [("admin/retention/subject_panel.html", legal_holds_panel_context),
                              ("admin/subjects/datasubject/services_panel.html", services_panel_context)]:
        page = next(panel for panel in response.context["subject_panels"] if panel["template"] == template)
        read = context(response.wsgi_request, alone)
        assert len(page["rows"]) == 3
        assert [vars_of(row) for row in page["rows"]] == [vars_of(row) for row in read["rows"]], template
        assert {key: value for key, value in page.items() if key not in ("title", "template", "rows")} == {
            key: value for key, value in read.items() if key != "rows"}
    services = next(panel for panel in response.context["subject_panels"]
                    if panel["template"] == "admin/subjects/datasubject/services_panel.html")
    assert [str(row.service) for row in services["rows"]] == [
        str(use.service) for use in ServiceUse.objects.filter(subject=subject).order_by("started_on", "service__code")]


def vars_of(row) -> dict:
    """Every field value of a row (and of its service), as the template may read them."""
    values = {field.attname: getattr(row, field.attname) for field in row._meta.concrete_fields}
    if isinstance(row, ServiceUse):
        values["service"] = {field.attname: getattr(row.service, field.attname)
                             for field in row.service._meta.concrete_fields}
    return values
