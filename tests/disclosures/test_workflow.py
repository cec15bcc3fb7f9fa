"""Draft → submitted → approved → sent: four eyes, frozen once sent, notifications, RoPA."""

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from shipex_privacy.accounts.roles import COMPLIANCE_OFFICER
from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.models import PersonalDataField
from shipex_privacy.disclosures import ropa
from shipex_privacy.disclosures.models import DisclosedSubject, Disclosure, PublicChoice
from shipex_privacy.disclosures.services import (
    disclosure_approve,
    disclosure_correct,
    disclosure_send,
    disclosure_set_subjects,
    disclosure_submit,
    notification_mark_sent,
)
from tests.accounts.factories import StaffFactory
from tests.disclosures.factories import DisclosureFactory, RecipientFactory
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db


def court_order(officer, subjects, recipient=None):
    disclosure = DisclosureFactory(
        ground="1.4.3.3", recipient=recipient or RecipientFactory(kind="state_authority"),
        created_by_id=officer.pk, created_by_username=officer.username,
        legal_authority="Toshkent shahar Yunusobod tumani sudi", legal_document_number="2-1234/2026",
        legal_document_date=date(2026, 11, 20), fields=[PersonalDataField.objects.get(code="identity.full_name")],
    )
    disclosure_set_subjects(disclosure=disclosure, subjects=subjects, actor=officer, reason="Court order")
    return disclosure


@pytest.fixture
def second_officer():
    return StaffFactory(username="malika", role=COMPLIANCE_OFFICER)


def test_a_second_officer_approves_and_sends(compliance_officer, second_officer):
    subjects = DataSubjectFactory.create_batch(3)
    disclosure = court_order(compliance_officer, subjects)
    disclosure_submit(disclosure=disclosure, actor=compliance_officer)
    disclosure_approve(disclosure=disclosure, approver=second_officer)
    disclosure_send(disclosure=disclosure, actor=compliance_officer)
    disclosure.refresh_from_db()
    assert (disclosure.status, disclosure.approved_by_username, disclosure.record_count) == ("sent", "malika", 3)
    assert disclosure.payload_sha256 == disclosure.export.sha256
    assert disclosure.manifest["subjects"] == sorted(s.account_id for s in subjects)
    assert [h.history_change_reason for h in disclosure.history.order_by("history_date")][-3:] == [
        "Submitted for approval", "Approved", f"Sent to {disclosure.recipient}"]


def test_nobody_approves_their_own_disclosure(compliance_officer):
    disclosure = court_order(compliance_officer, [DataSubjectFactory()])
    disclosure_submit(disclosure=disclosure, actor=compliance_officer)
    with pytest.raises(ValidationError, match="another officer must approve"):
        disclosure_approve(disclosure=disclosure, approver=compliance_officer)
    assert Disclosure.objects.get(pk=disclosure.pk).status == "submitted"
    # The database holds the rule too.
    disclosure.approved_by_id = compliance_officer.pk
    with pytest.raises(DatabaseError), transaction.atomic():
        disclosure.save()


def test_approval_needs_the_permission(compliance_officer, support_agent):
    disclosure = court_order(compliance_officer, [DataSubjectFactory()])
    disclosure_submit(disclosure=disclosure, actor=compliance_officer)
    with pytest.raises(PermissionDenied):
        disclosure_approve(disclosure=disclosure, approver=support_agent)


def test_a_failing_ground_cannot_be_approved_and_the_refusal_names_the_clause(compliance_officer, second_officer):
    disclosure = court_order(compliance_officer, [DataSubjectFactory()])
    disclosure.legal_document_number = ""
    disclosure.save()
    disclosure_submit(disclosure=disclosure, actor=compliance_officer)
    with pytest.raises(ValidationError, match=r"1\.4\.3\.3: Legal reference"):
        disclosure_approve(disclosure=disclosure, approver=second_officer)
    assert Disclosure.objects.get(pk=disclosure.pk).status == "submitted"


def test_steps_out_of_order_are_refused(compliance_officer, second_officer):
    disclosure = court_order(compliance_officer, [DataSubjectFactory()])
    with pytest.raises(ValidationError, match="not possible now"):
        disclosure_approve(disclosure=disclosure, approver=second_officer)
    with pytest.raises(ValidationError, match="not possible now"):
        disclosure_send(disclosure=disclosure, actor=compliance_officer)


def business_transfer(officer, subjects):
    """A 1.4.3.4 disclosure to an acquirer: subjects must be told of it within three days."""
    acquirer = RecipientFactory(kind="business_acquirer", obligations_accepted_on=date(2026, 1, 10),
                                obligations_document="Share purchase agreement, annex 4")
    disclosure = DisclosureFactory(ground="1.4.3.4", recipient=acquirer, created_by_id=officer.pk,
                                   created_by_username=officer.username,
                                   fields=[PersonalDataField.objects.get(code="identity.full_name")])
    disclosure_set_subjects(disclosure=disclosure, subjects=subjects, actor=officer, reason="Sale of the branch")
    return disclosure


def sent(officer, approver, subjects, recipient=None, sent_at=None, notify=False):
    disclosure = business_transfer(officer, subjects) if notify else court_order(officer, subjects, recipient)
    disclosure_submit(disclosure=disclosure, actor=officer)
    disclosure_approve(disclosure=disclosure, approver=approver)
    return disclosure_send(disclosure=disclosure, actor=officer,
                           sent_at=sent_at)


@pytest.mark.parametrize("statement", [
    "UPDATE disclosures_disclosure SET record_count = 99 WHERE id = %s",
    "UPDATE disclosures_disclosure SET legal_document_number = 'forged' WHERE id = %s",
    "UPDATE disclosures_disclosure SET sent_at = NULL, status = 'draft' WHERE id = %s",
])
def test_a_sent_disclosure_is_frozen_even_for_raw_sql(statement, compliance_officer, second_officer):
    disclosure = sent(compliance_officer, second_officer, [DataSubjectFactory()])
    with pytest.raises(DatabaseError, match="frozen"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, [disclosure.pk])
    assert Disclosure.objects.get(pk=disclosure.pk).record_count == 1


def test_the_admin_refuses_to_edit_a_sent_disclosure(client, compliance_officer, second_officer):
    disclosure = sent(compliance_officer, second_officer, [DataSubjectFactory()])
    client.force_login(compliance_officer)
    url = reverse("admin:disclosures_disclosure_change", args=[disclosure.pk])
    assert client.get(url).context["has_change_permission"] is False
    assert client.post(url, {"recipient": disclosure.recipient_id, "change_reason": "x"}).status_code == 403


def test_a_correction_is_a_new_disclosure_pointing_to_the_old(compliance_officer, second_officer):
    subjects = DataSubjectFactory.create_batch(2)
    original = sent(compliance_officer, second_officer, subjects)
    correction = disclosure_correct(disclosure=original, actor=compliance_officer,
                                    reason="Court asked for one subject fewer")
    assert (correction.corrects, correction.status) == (original, "draft")
    assert set(correction.disclosed_subjects.values_list("subject_id", flat=True)) == {s.pk for s in subjects}
    assert Disclosure.objects.get(pk=original.pk).status == "sent"


def test_deleting_a_recipient_with_disclosures_is_refused(client, compliance_officer, second_officer):
    disclosure = sent(compliance_officer, second_officer, [DataSubjectFactory()])
    client.force_login(compliance_officer)
    client.cookies["django_language"] = "en"
    url = reverse("admin:disclosures_recipient_delete", args=[disclosure.recipient_id])
    assert "Cannot delete" in client.get(url).content.decode() or "protected" in client.get(url).content.decode()
    client.post(url, {"post": "yes"})
    assert disclosure.recipient.__class__.objects.filter(pk=disclosure.recipient_id).exists()


def test_notification_due_in_three_days_unless_exempt(compliance_officer, second_officer):
    monday = timezone.make_aware(datetime(2026, 11, 23, 10, 0))
    subject = DataSubjectFactory()
    processor = sent(compliance_officer, second_officer, [subject], notify=True, sent_at=monday)
    court = sent(compliance_officer, second_officer, [subject], recipient=RecipientFactory(kind="state_authority"),
                 sent_at=monday)
    to_processor = processor.disclosed_subjects.get()
    assert (to_processor.notify_by, to_processor.exemption) == (date(2026, 11, 26), "")
    to_court = court.disclosed_subjects.get()
    assert (to_court.notify_by, to_court.exemption) == (None, "state_body")
    overdue = DisclosedSubject.objects.notifications_overdue(today=date(2026, 11, 27))
    assert list(overdue) == [to_processor]
    assert not DisclosedSubject.objects.notifications_overdue(today=date(2026, 11, 26)).exists()


def test_data_from_public_sources_needs_no_notification(compliance_officer, second_officer):
    subject = DataSubjectFactory()
    PublicChoice.objects.create(subject=subject, field=PersonalDataField.objects.get(code="identity.full_name"),
                                made_public_on=date(2025, 1, 1), evidence="Published on the subject's shop page")
    disclosure = sent(compliance_officer, second_officer, [subject], notify=True)
    assert disclosure.disclosed_subjects.get().exemption == "public_sources"


def test_recording_a_notification(compliance_officer, second_officer, support_agent):
    disclosure = sent(compliance_officer, second_officer, [DataSubjectFactory()],
                      notify=True)
    row = disclosure.disclosed_subjects.get()
    notification_mark_sent(disclosed=row, channel="sms", at=timezone.now(), actor=support_agent)
    row.refresh_from_db()
    assert row.notification_channel == "sms" and row.history.latest().history_username == support_agent.username
    with pytest.raises(ValidationError, match="already notified"):
        notification_mark_sent(disclosed=row, channel="sms", at=timezone.now(), actor=support_agent)


def test_notification_text_is_in_the_subjects_language(client, compliance_officer, second_officer, support_agent):
    subject = DataSubjectFactory(preferred_language="ru")
    disclosure = sent(compliance_officer, second_officer, [subject], notify=True)
    client.force_login(support_agent)
    response = client.get(reverse("admin:disclosures_disclosedsubject_notify",
                                  args=[disclosure.disclosed_subjects.get().pk]))
    assert subject.full_name in response.context["text"]
    assert "Фамилия, имя, отчество" in response.context["text"]  # the field, named in Russian


def test_subject_page_lists_who_received_the_data(client, compliance_officer, second_officer, auditor):
    subject = DataSubjectFactory()
    disclosure = sent(compliance_officer, second_officer, [subject])
    draft = court_order(compliance_officer, [subject])
    client.force_login(auditor)
    panels = client.get(reverse("admin:subjects_datasubject_change", args=[subject.pk])).context["subject_panels"]
    received = next(panel for panel in panels if panel["template"] == "admin/disclosures/subject_panel.html")
    assert [row.disclosure for row in received["rows"]] == [disclosure]
    assert draft not in [row.disclosure for row in received["rows"]]


def test_ropa_as_of_a_past_date_is_rebuilt_from_history(compliance_officer, second_officer):
    before = timezone.now()
    email = PersonalDataField.objects.get(code="contact.email")
    email.storage_country = "KZ"
    record_save(instance=email, actor=compliance_officer, reason="Moved to the Almaty data centre")
    disclosure = sent(compliance_officer, second_officer, [DataSubjectFactory()])

    then = {(row.field, row.purpose.split()[0]): row for row in ropa.build(before)}
    now = {(row.field, row.purpose.split()[0]): row for row in ropa.build()}
    assert then[("contact.email", "1.3.2.3")].stored_in == "UZ"
    assert now[("contact.email", "1.3.2.3")].stored_in == "KZ"
    assert "KZ" in now[("contact.email", "1.3.2.3")].cross_border
    assert then[("identity.full_name", "1.3.2.2")].recipients == "—"
    assert disclosure.recipient.legal_name in now[("identity.full_name", "1.3.2.2")].recipients


def test_ropa_downloads_as_csv_and_xlsx_and_the_export_is_logged(client, auditor):
    from shipex_privacy.audit.models import AccessEvent

    client.force_login(auditor)
    client.cookies["django_language"] = "en"  # the headers are in the reader's language
    url = reverse("admin:disclosures_disclosure_ropa")
    response = client.get(url, {"as_of": timezone.localdate().isoformat(), "format": "csv", "sheet": "fields"})
    assert response.content.startswith("\ufeff".encode())  # Excel on Windows reads it as UTF-8
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0] == "purpose" and any(row[2] == "contact.phone" for row in rows)
    xlsx = client.get(url, {"format": "xlsx"})
    assert xlsx.content[:2] == b"PK" and "attachment" in xlsx["Content-Disposition"]
    assert AccessEvent.objects.filter(username=auditor.username, action=AccessEvent.Action.EXPORT).count() == 2


def test_disclosures_of_the_past_keep_their_ground_check(compliance_officer, second_officer):
    disclosure = sent(compliance_officer, second_officer, [DataSubjectFactory()],
                      sent_at=timezone.now() - timedelta(days=2))
    assert disclosure.ground_holds(disclosure.sent_at)


def test_a_sent_disclosure_page_costs_the_same_queries_however_many_subjects(client, compliance_officer,
                                                                            second_officer):
    from django.test.utils import CaptureQueriesContext

    few = sent(compliance_officer, second_officer, DataSubjectFactory.create_batch(2))
    many = sent(compliance_officer, second_officer, DataSubjectFactory.create_batch(12))
    client.force_login(compliance_officer)
    counts = []
    for disclosure in (few, many):
        with CaptureQueriesContext(connection) as queries:
            client.get(reverse("admin:disclosures_disclosure_change", args=[disclosure.pk]))
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_ropa_names_the_responsible_person_as_of_its_date(client, auditor):
    from tests.protection.factories import ResponsiblePersonFactory

    ResponsiblePersonFactory(name="Dilshod Karimov", order_number="47-P", since=date(2026, 1, 15))
    client.force_login(auditor)
    client.cookies["django_language"] = "en"
    url = reverse("admin:disclosures_disclosure_ropa")
    now = client.get(url).content.decode()
    assert "Dilshod Karimov, order № 47-P" in now
    before = client.get(url, {"as_of": "2025-12-31"}).content.decode()
    assert "Dilshod Karimov" not in before and "Nobody is recorded as responsible" in before
