"""The auditor's trail: every change of every audited record in one indexed table."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from shipex_privacy.audit.models import AccessEvent, TrailEntry
from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.masking import mask_value
from shipex_privacy.catalogue.models import PersonalDataField
from shipex_privacy.core.masking import mask_text
from shipex_privacy.subjects.models import DataSubject
from tests.subjects.factories import AddressFactory, DataSubjectFactory

pytestmark = pytest.mark.django_db
TRAIL = reverse("admin:audit_trailentry_changelist")


@pytest.fixture
def auditor_client(client, auditor):
    client.force_login(auditor)
    client.cookies["django_language"] = "en"
    return client


def test_every_audited_save_gets_an_entry_naming_who_why_and_the_subject(support_agent):
    subject = DataSubjectFactory()
    address = AddressFactory(subject=subject)
    subject.phone = "+998935551122"
    record_save(instance=subject, actor=support_agent, reason="DSR #51: new phone")
    latest = TrailEntry.objects.filter(model="subjects.datasubject", object_id=str(subject.pk)).first()
    assert (latest.action, latest.username, latest.reason, latest.subject_id) == (
        "~", support_agent.username, "DSR #51: new phone", subject.pk)
    assert TrailEntry.objects.filter(model="subjects.address", object_id=str(address.pk),
                                     subject_id=subject.pk).exists()


def test_a_failed_save_leaves_no_entry(support_agent):
    subject = DataSubjectFactory()
    before = TrailEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        subject.full_name = "Rolled back"
        record_save(instance=subject, actor=support_agent, reason="Will fail")
        raise RuntimeError
    assert TrailEntry.objects.count() == before


def test_history_written_by_data_migrations_is_in_the_trail():
    seeded = PersonalDataField.objects.get(code="contact.phone")
    entry = TrailEntry.objects.get(model="catalogue.personaldatafield", object_id=str(seeded.pk), action="+")
    assert entry.reason.startswith("Seeded catalogue")


def test_the_trail_refuses_raw_changes():
    DataSubjectFactory()
    from django.db import DatabaseError

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_trailentry SET username = 'someone'")


def test_auditor_filters_by_staff_subject_type_action_and_dates(auditor_client, support_agent, compliance_officer):
    mine, other = DataSubjectFactory(), DataSubjectFactory()
    for subject in (mine, other):
        subject.full_name = "Changed name"
        record_save(instance=subject, actor=support_agent, reason="Correction")
    entry = PersonalDataField.objects.get(code="contact.email")
    entry.description = "Newsletters"
    record_save(instance=entry, actor=compliance_officer, reason="Clarified the description")

    def listed(**params):
        return list(auditor_client.get(TRAIL, params).context["cl"].result_list)

    assert {e.subject_id for e in listed(user_id=support_agent.pk)} == {mine.pk, other.pk}
    assert {e.model for e in listed(subject_id=mine.pk)} == {"subjects.datasubject"}
    # Besides the migration that set the catalogue's masking (no staff member), only the officer's change.
    assert [e.username for e in listed(model="catalogue.personaldatafield", action="~") if e.username] == [
        compliance_officer.username]
    today = timezone.localdate()
    assert len(listed(user_id=support_agent.pk, from_date=today - timedelta(days=1),
                      before_date=today + timedelta(days=1))) == 2
    assert listed(user_id=support_agent.pk, before_date=today - timedelta(days=2)) == []
    # Days as staff write them (dd.mm.yyyy) filter the same; a malformed one is refused (?e=1), never a 500.
    assert len(listed(user_id=support_agent.pk, from_date=f"{today - timedelta(days=1):%d.%m.%Y}",
                      before_date=f"{today + timedelta(days=1):%d.%m.%Y}")) == 2
    assert auditor_client.get(TRAIL, {"from_date": "11/25/2026"}).status_code == 302


def test_the_trail_page_costs_the_same_queries_whatever_its_length(auditor_client, support_agent):
    subject = DataSubjectFactory()
    with CaptureQueriesContext(connection) as few:
        auditor_client.get(TRAIL)
    for number in range(30):
        subject.full_name = f"Name {number}"
        record_save(instance=subject, actor=support_agent, reason=f"Edit {number}")
    with CaptureQueriesContext(connection) as many:
        auditor_client.get(TRAIL)
    assert len(many) == len(few)
    trail_queries = [q["sql"] for q in many.captured_queries if "audit_trailentry" in q["sql"]]
    assert trail_queries and not any("UNION" in sql.upper() for sql in trail_queries)


def test_one_entry_shows_a_readable_diff_with_identifiers_masked(auditor_client, support_agent):
    subject = DataSubjectFactory(phone="+998901234567")
    subject.phone = "+998935551122"
    record_save(instance=subject, actor=support_agent, reason="DSR #52: new phone")
    entry = TrailEntry.objects.filter(model="subjects.datasubject", action="~").first()
    response = auditor_client.get(reverse("admin:audit_trailentry_change", args=[entry.pk]))
    rows = response.context["rows"]
    assert [(row.field, row.old, row.new) for row in rows] == [
        ("Phone number", "+998 90 *** ** 67", "+998 93 *** ** 22")]
    page = response.content.decode()
    assert "+998901234567" not in page and "+998935551122" not in page
    assert "DSR #52: new phone" in page


def test_a_requests_contact_is_masked_in_its_diff_by_the_same_rule_as_the_subject_page(auditor_client,
                                                                                      support_agent):
    from tests.rights_requests.factories import SubjectRequestFactory

    request = SubjectRequestFactory(requester_contact="aziza.tursunova@mail.uz")
    request.requester_contact = "+998 90 123 45 67"
    record_save(instance=request, actor=support_agent, reason="Requester called from another number")
    entry = TrailEntry.objects.filter(model="rights_requests.subjectrequest", action="~").latest("id")
    response = auditor_client.get(reverse("admin:audit_trailentry_change", args=[entry.pk]))
    changed = {row.field: (row.old, row.new) for row in response.context["rows"]}
    assert ("a***@mail.uz", "+998 90 *** ** 67") in changed.values()
    page = response.content.decode()
    assert "aziza.tursunova@mail.uz" not in page and "+998 90 123 45 67" not in page


def test_opening_an_entry_about_a_subject_is_a_logged_read_of_that_subject(auditor_client, auditor, support_agent):
    subject = DataSubjectFactory(phone="+998901234567")
    subject.phone = "+998935551122"
    record_save(instance=subject, actor=support_agent, reason="DSR #53: new phone")
    entry = TrailEntry.objects.filter(model="subjects.datasubject", action="~").latest("id")
    assert auditor_client.get(reverse("admin:audit_trailentry_change", args=[entry.pk])).status_code == 200
    read = AccessEvent.objects.get(user_id=auditor.pk)
    assert (read.action, read.subject_id, read.object_type, read.object_id) == (
        AccessEvent.Action.SUBJECT_VIEW, subject.pk, "audit.trailentry", str(entry.pk))


def test_an_entry_about_no_subject_logs_no_read_of_a_subject(auditor_client, auditor, compliance_officer):
    from tests.protection.factories import MeasureFactory

    measure = MeasureFactory()
    entry = TrailEntry.objects.filter(model="protection.measure", object_id=str(measure.pk)).latest("id")
    assert entry.subject_id is None
    assert auditor_client.get(reverse("admin:audit_trailentry_change", args=[entry.pk])).status_code == 200
    assert not AccessEvent.objects.filter(user_id=auditor.pk).exists()


def test_a_subjects_name_reads_the_same_in_the_trail_as_on_the_subject_page(auditor_client, support_agent):
    subject = DataSubjectFactory(full_name="Karimov Aziz")
    subject.full_name = "Karimov Aziz Baxtiyor oʻgʻli"
    record_save(instance=subject, actor=support_agent, reason="DSR #54: full name")
    entry = TrailEntry.objects.filter(model="subjects.datasubject", action="~").latest("id")
    rows = auditor_client.get(reverse("admin:audit_trailentry_change", args=[entry.pk])).context["rows"]
    assert [(row.old, row.new) for row in rows] == [("Karimov Aziz", "Karimov Aziz Baxtiyor oʻgʻli")]


def test_csv_export_of_the_filtered_trail_is_logged(auditor_client, auditor, support_agent):
    subject = DataSubjectFactory()
    subject.full_name = "Exported"
    record_save(instance=subject, actor=support_agent, reason="For the export")
    response = auditor_client.get(reverse("admin:audit_trailentry_export"), {"user_id": support_agent.pk})
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("\ufeffat,staff_id,staff,action,event")  # a BOM, so Excel reads Uzbek
    assert len(lines) == 2 and "For the export" in lines[1]
    assert AccessEvent.objects.filter(username=auditor.username, action="export").exists()


def test_nobody_writes_to_the_trail_from_the_admin(admin_client):
    DataSubjectFactory()
    entry = TrailEntry.objects.first()
    assert admin_client.get(reverse("admin:audit_trailentry_add")).status_code == 403
    delete = reverse("admin:audit_trailentry_delete", args=[entry.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert TrailEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner")
def test_filters_are_answered_from_indexes():
    queryset = TrailEntry.objects.filter(user_id=1).order_by("-at", "-id")[:50]
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "trail_user_at_idx" in plan, plan


def test_diff_shows_choice_labels_not_codes(auditor_client, compliance_officer):
    entry = PersonalDataField.objects.get(code="contact.email")
    entry.requirement = PersonalDataField.Requirement.MANDATORY
    record_save(instance=entry, actor=compliance_officer, reason="E-mail now mandatory")
    trail_entry = TrailEntry.objects.get(model="catalogue.personaldatafield", reason="E-mail now mandatory")
    auditor_client.cookies["django_language"] = "en"
    rows = auditor_client.get(reverse("admin:audit_trailentry_change", args=[trail_entry.pk])).context["rows"]
    assert [(row.old, row.new) for row in rows] == [("Optional, at the user's discretion (1.2.1.1)",
                                                     "Mandatory (1.2.1.1)")]


def test_revealing_a_diff_needs_a_reason_and_is_logged(auditor_client, auditor, support_agent):
    subject = DataSubjectFactory(phone="+998901234567")
    subject.phone = "+998935551122"
    record_save(instance=subject, actor=support_agent, reason="DSR #53: new phone")
    entry = TrailEntry.objects.filter(model="subjects.datasubject", action="~").first()
    url = reverse("admin:audit_trailentry_reveal", args=[entry.pk])

    refused = auditor_client.post(url, {"reason": ""})
    assert "+998935551122" not in refused.content.decode()
    assert AccessEvent.objects.filter(action="identifier.reveal_refused", username=auditor.username).exists()

    shown = auditor_client.post(url, {"reason": "Complaint #7: checking which number was set"})
    assert [(row.old, row.new) for row in shown.context["rows"]] == [("+998901234567", "+998935551122")]
    logged = AccessEvent.objects.get(action="identifier.reveal", username=auditor.username)
    assert (logged.subject_id, logged.reason) == (subject.pk, "Complaint #7: checking which number was set")
    # The next plain visit is masked again.
    again = auditor_client.get(reverse("admin:audit_trailentry_change", args=[entry.pk]))
    assert "+998935551122" not in again.content.decode()


def test_audit_lists_name_subjects_by_account_id_and_masked_name(client, auditor, support_agent):
    subject = DataSubjectFactory(full_name="Dilnoza Karimova")
    record_save(instance=subject, actor=support_agent, reason="Corrected the address")
    AccessEvent.objects.create(action=AccessEvent.Action.SUBJECT_VIEW, user_id=support_agent.pk,
                               username=support_agent.username, subject_id=subject.pk)
    client.force_login(auditor)
    shown = f"{mask_value(DataSubject, 'account_id', subject.account_id)} · {mask_text(subject.full_name)}"
    for url in (TRAIL, reverse("admin:audit_accessevent_changelist")):
        page = client.get(url).content.decode()
        assert f'<a href="?subject_id={subject.pk}">{escape(shown)}</a>' in page, url
        assert "Karimova" not in page


def test_the_trail_search_box_finds_a_staff_member_or_a_subject_and_is_logged(client, auditor, support_agent):
    subject, other = DataSubjectFactory(), DataSubjectFactory()
    record_save(instance=subject, actor=support_agent, reason="Corrected the address")
    record_save(instance=other, actor=support_agent, reason="Corrected the phone")
    client.force_login(auditor)
    client.cookies["django_language"] = "en"

    def shown(term):
        page = client.get(TRAIL, {"q": term})
        return {entry.subject_id for entry in page.context["cl"].result_list}, page.content.decode()

    found, page = shown(subject.phone)
    assert found == {subject.pk}
    assert "Showing only:" in page and "Remove this filter" in page
    assert AccessEvent.objects.filter(action=AccessEvent.Action.SUBJECT_SEARCH, user_id=auditor.pk,
                                      detail="audit trail").count() == 1
    assert shown(support_agent.username)[0] >= {subject.pk, other.pk}
    assert shown("+998 00 000 00 00")[0] == set()  # matches nobody: an empty list, not the whole trail
    # A subject filter names the subject, never only its database id.
    page = client.get(TRAIL, {"subject_id": subject.pk}).content.decode()
    assert f"{mask_value(DataSubject, 'account_id', subject.account_id)} · {mask_text(subject.full_name)}" in page
