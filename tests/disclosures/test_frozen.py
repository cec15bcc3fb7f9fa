"""A sent disclosure is frozen whole, by the database: its row, its fields and its subjects' rows.

Issue 10, item 5: "frozen once sent" refused only UPDATE, so plain SQL could DELETE a sent
disclosure, add or remove its fields (the m2m rows) and delete its DisclosedSubject rows. Each of
those statements is now refused on both databases, while a draft stays editable and the one
thing a sent disclosure still records — each subject's notification, once — still works.
"""

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from shipex_privacy.catalogue.models import PersonalDataField
from shipex_privacy.core.freeze import expected_triggers, installed_triggers, missing_freeze_guards
from shipex_privacy.disclosures.models import DisclosedSubject, Disclosure
from shipex_privacy.disclosures.services import notification_mark_sent
from tests.disclosures.test_workflow import court_order, second_officer, sent  # noqa: F401 (fixture)
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db
FIELDS = Disclosure.fields.through._meta.db_table
SUBJECTS = DisclosedSubject._meta.db_table


def raw(sql: str, params=()) -> None:
    # The savepoint keeps PostgreSQL's transaction usable after the refusal.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def sent_disclosure(compliance_officer, second_officer):  # noqa: F811
    # A sale of the business: its subjects must be notified, so their rows are not exempt.
    return sent(compliance_officer, second_officer, DataSubjectFactory.create_batch(2), notify=True)


def snapshot(disclosure) -> tuple:
    row = Disclosure.objects.filter(pk=disclosure.pk).values().first()
    fields = sorted(Disclosure.fields.through.objects.filter(disclosure_id=disclosure.pk)
                    .values_list("personaldatafield_id", flat=True))
    subjects = sorted(DisclosedSubject.objects.filter(disclosure_id=disclosure.pk).values_list(
        "id", "subject_id", "notify_by", "exemption", "notified_at", "notification_channel"))
    return row, fields, subjects


ATTACKS = {
    "delete the disclosure": lambda d, draft: (f"DELETE FROM {Disclosure._meta.db_table} WHERE id = %s", [d.pk]),
    "remove a field": lambda d, draft: (f"DELETE FROM {FIELDS} WHERE disclosure_id = %s", [d.pk]),
    "add a field": lambda d, draft: (
        f"INSERT INTO {FIELDS} (disclosure_id, personaldatafield_id) VALUES (%s, %s)",
        [d.pk, PersonalDataField.objects.get(code="contact.email").pk]),
    "swap a field": lambda d, draft: (
        f"UPDATE {FIELDS} SET personaldatafield_id = %s WHERE disclosure_id = %s",
        [PersonalDataField.objects.get(code="contact.email").pk, d.pk]),
    "move a field to a draft": lambda d, draft: (
        f"UPDATE {FIELDS} SET disclosure_id = %s WHERE disclosure_id = %s",
        [draft.pk, d.pk]),
    "delete a subject's row": lambda d, draft: (f"DELETE FROM {SUBJECTS} WHERE disclosure_id = %s", [d.pk]),
    "add a subject": lambda d, draft: (
        f"INSERT INTO {SUBJECTS} (disclosure_id, subject_id, exemption, notification_channel) "
        "VALUES (%s, %s, '', '')", [d.pk, DataSubjectFactory().pk]),
    "change a subject": lambda d, draft: (
        f"UPDATE {SUBJECTS} SET subject_id = %s WHERE disclosure_id = %s", [DataSubjectFactory().pk, d.pk]),
    "move a subject to a draft": lambda d, draft: (
        f"UPDATE {SUBJECTS} SET disclosure_id = %s WHERE disclosure_id = %s", [draft.pk, d.pk]),
    "exempt a subject afterwards": lambda d, draft: (
        f"UPDATE {SUBJECTS} SET exemption = 'state_body', notify_by = NULL WHERE disclosure_id = %s", [d.pk]),
    "move a draft's subject into it": lambda d, draft: (
        f"UPDATE {SUBJECTS} SET disclosure_id = %s WHERE disclosure_id = %s", [d.pk, draft.pk]),
}


@pytest.fixture
def draft(compliance_officer):
    """Another disclosure, still a draft, with a subject of its own."""
    return court_order(compliance_officer, [DataSubjectFactory()])


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_every_part_of_a_sent_disclosure_refuses_raw_sql(attack, sent_disclosure, draft):
    sql, params = ATTACKS[attack](sent_disclosure, draft)
    before = snapshot(sent_disclosure)
    with pytest.raises(DatabaseError, match="frozen"):
        raw(sql, params)
    assert snapshot(sent_disclosure) == before


def test_the_orm_cannot_delete_a_sent_disclosure_or_its_parts_either(sent_disclosure):
    for queryset in (DisclosedSubject.objects.filter(disclosure=sent_disclosure),
                     Disclosure.fields.through.objects.filter(disclosure=sent_disclosure)):
        with pytest.raises(DatabaseError, match="frozen"), transaction.atomic():
            queryset.delete()
    with pytest.raises(DatabaseError, match="frozen"), transaction.atomic():
        sent_disclosure.fields.clear()
    assert sent_disclosure.fields.count() == 1
    assert sent_disclosure.disclosed_subjects.count() == 2


def test_a_draft_stays_editable(compliance_officer):
    draft = court_order(compliance_officer, DataSubjectFactory.create_batch(2))
    raw(f"DELETE FROM {SUBJECTS} WHERE disclosure_id = %s", [draft.pk])
    raw(f"INSERT INTO {FIELDS} (disclosure_id, personaldatafield_id) VALUES (%s, %s)",
        [draft.pk, PersonalDataField.objects.get(code="contact.email").pk])
    assert draft.fields.count() == 2
    raw(f"DELETE FROM {FIELDS} WHERE disclosure_id = %s", [draft.pk])
    raw(f"DELETE FROM {Disclosure._meta.db_table} WHERE id = %s", [draft.pk])
    assert not Disclosure.objects.filter(pk=draft.pk).exists()


def test_the_notification_is_still_recorded_once_and_then_frozen(sent_disclosure, compliance_officer):
    row = sent_disclosure.disclosed_subjects.first()
    notification_mark_sent(disclosed=row, channel="sms", at=timezone.now(), actor=compliance_officer)
    row.refresh_from_db()
    assert row.notification_channel == "sms"
    for sql in (f"UPDATE {SUBJECTS} SET notification_channel = 'letter' WHERE id = %s",
                f"UPDATE {SUBJECTS} SET notified_at = NULL, notification_channel = '' WHERE id = %s"):
        with pytest.raises(DatabaseError, match="frozen"):
            raw(sql, [row.pk])
    assert DisclosedSubject.objects.get(pk=row.pk).notification_channel == "sms"


@pytest.mark.django_db(transaction=True)
def test_every_freeze_trigger_is_installed_and_comes_back_after_migrate():
    expected = expected_triggers(connection)
    assert {Disclosure._meta.db_table, FIELDS, SUBJECTS} <= set(expected)
    assert missing_freeze_guards(connection) == []
    call_command("migrate", verbosity=0)
    installed = installed_triggers(connection)
    assert all(names <= installed.get(table, set()) for table, names in expected.items())
