"""Subjects registered per hour (subjects/registrations.py): kept by the database on every write path."""

from datetime import UTC, datetime, timedelta

import pytest

from shipex_privacy.audit.bulk import record_save_many
from shipex_privacy.audit.events import AuditEvent, SystemActor
from shipex_privacy.audit.services import record_save
from shipex_privacy.consents import reports
from shipex_privacy.subjects import registrations
from shipex_privacy.subjects.models import DataSubject, RegistrationHour
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db

MONTH_ENDS = reports.month_ends(12)
TICK = timedelta(microseconds=1)
ACTOR = SystemActor("test")


def counted() -> dict[datetime, int]:
    return {row.hour: row.registered for row in RegistrationHour.objects.exclude(registered=0)}


def exact() -> dict[datetime, int]:
    found: dict[datetime, int] = {}
    for at in DataSubject.objects.values_list("registered_at", flat=True):
        hour = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        found[hour] = found.get(hour, 0) + 1
    return found


def test_each_moment_counts_the_subjects_registered_at_or_before_it_and_nothing_after():
    for at in (MONTH_ENDS[0] - timedelta(days=400), MONTH_ENDS[0], MONTH_ENDS[0] + TICK, MONTH_ENDS[5],
               MONTH_ENDS[5] + TICK, MONTH_ENDS[-2], MONTH_ENDS[-1] - timedelta(minutes=1),
               MONTH_ENDS[-1] + timedelta(days=1)):
        DataSubjectFactory(registered_at=at)
    expected = [DataSubject.objects.filter(registered_at__lte=moment).count() for moment in MONTH_ENDS]
    assert registrations.registered_by(MONTH_ENDS) == expected
    assert expected[0] == 2 and expected[-1] == 7
    assert registrations.registered_by(MONTH_ENDS[:1]) == expected[:1]
    inside = MONTH_ENDS[3] - timedelta(minutes=20)  # a moment inside an hour, not at its end
    assert registrations.registered_by([inside]) == [DataSubject.objects.filter(registered_at__lte=inside).count()]


def test_the_counts_follow_inserts_moves_and_deletes_by_every_path(django_assert_max_num_queries):
    one = DataSubjectFactory(registered_at=MONTH_ENDS[1] - timedelta(hours=3))
    many = [DataSubject(account_id=f"SX10000{n:03d}", full_name="Aziza Karimova", phone=f"+99890123{n:04d}",
                        registered_at=MONTH_ENDS[2] - timedelta(minutes=n)) for n in range(30)]
    record_save_many(instances=many, actor=ACTOR, reason="Test: a batch", event=AuditEvent.IMPORTED)
    assert counted() == exact()

    one.registered_at = MONTH_ENDS[4] - timedelta(days=2)
    record_save(instance=one, actor=ACTOR, reason="Test: registered later", event=AuditEvent.EDITED)
    many[0].full_name = "Aziza Karimova-Rahimova"  # an update that leaves registered_at alone
    record_save(instance=many[0], actor=ACTOR, reason="Test: renamed", event=AuditEvent.EDITED)
    assert counted() == exact()

    many[1].delete()
    assert counted() == exact()
    assert registrations.registered_by(MONTH_ENDS) == [
        DataSubject.objects.filter(registered_at__lte=moment).count() for moment in MONTH_ENDS]


def test_the_report_reads_two_queries_for_the_subjects_however_many_there_are(django_assert_num_queries):
    DataSubjectFactory.create_batch(3, registered_at=MONTH_ENDS[0] - timedelta(days=10))
    with django_assert_num_queries(2):
        small = registrations.registered_by(MONTH_ENDS)
    DataSubjectFactory.create_batch(20, registered_at=MONTH_ENDS[6] - timedelta(days=1))
    with django_assert_num_queries(2):
        large = registrations.registered_by(MONTH_ENDS)
    assert large[-1] == small[-1] + 20


def test_verify_audit_names_an_hour_whose_count_was_changed_behind_the_triggers():
    from django.db.models import F

    from shipex_privacy.audit import tamper

    subject = DataSubjectFactory(registered_at=MONTH_ENDS[2] - timedelta(hours=5))
    table = RegistrationHour._meta.db_table
    assert not [finding for finding in tamper.verify().findings if finding.table == table]
    hour = subject.registered_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    RegistrationHour.objects.filter(hour=hour).update(registered=F("registered") + 2)  # behind the triggers
    drifted = [finding for finding in tamper.verify().findings if finding.table == table]
    assert [finding.row_id for finding in drifted] == [int(hour.timestamp())]
    assert "1 in the subjects' table" in drifted[0].problem and "3 counted" in drifted[0].problem
