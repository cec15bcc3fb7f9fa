"""A killed run does not stay "running" with zero counts; ``--as`` names only staff who may erase."""

import time
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection, connections

from shipex_privacy.accounts.roles import AUDITOR, SUPPORT_AGENT
from shipex_privacy.retention import services
from shipex_privacy.retention.models import RetentionRun
from shipex_privacy.retention.services import retention_apply
from shipex_privacy.subjects.models import Address, DataSubject
from tests.accounts.factories import StaffFactory
from tests.retention.factories import closed_with_records

pytestmark = pytest.mark.django_db


class Killed(BaseException):
    """What SIGKILL looks like from inside: nothing after it runs (not even ``except Exception``)."""


def counts(run):
    return {(c.rule.code, c.model): (c.deleted, c.anonymised) for c in run.counts.select_related("rule")
            if c.deleted or c.anonymised}


def kill_after(monkeypatch, records: int):
    """Kill the run before its next batch once it has erased ``records`` records (each batch committed on its own)."""
    real, done = services._apply_batch, []

    def apply_batch(*args, **kwargs):
        if len(done) >= records:
            raise Killed
        changed = real(*args, **kwargs)
        done.extend(changed)
        return changed

    monkeypatch.setattr(services, "_apply_batch", apply_batch)


def test_a_new_run_marks_a_killed_one_interrupted_with_the_counts_its_history_shows(monkeypatch):
    subjects = [closed_with_records() for _ in range(2)]
    expected = counts(retention_apply(dry_run=True, started_by="scheduler"))
    kill_after(monkeypatch, records=100)  # more than there are: it dies when it would save its counts
    monkeypatch.setattr(services, "_save_counts", lambda *args, **kwargs: (_ for _ in ()).throw(Killed()))
    with pytest.raises(Killed):
        retention_apply(dry_run=False, started_by="scheduler")
    killed = RetentionRun.objects.get(dry_run=False)
    assert (killed.status, killed.counts.count()) == (RetentionRun.Status.RUNNING, 0)  # the bug, as found
    monkeypatch.undo()

    nothing_left = retention_apply(dry_run=False, started_by="scheduler")

    killed.refresh_from_db()
    assert killed.status == RetentionRun.Status.INTERRUPTED
    assert "stopped before it finished" in killed.error and killed.finished_at >= killed.started_at
    assert counts(killed) == expected  # exactly what the run had done
    assert counts(nothing_left) == {}
    assert not Address.objects.filter(subject__in=subjects).exists()
    assert killed.history.latest().history_change_reason == f"Retention run #{killed.pk} interrupted; found by " \
                                                            "the next run"


def test_a_run_killed_half_way_is_counted_for_what_it_did_and_the_next_run_does_the_rest(monkeypatch):
    for _ in range(3):
        closed_with_records()
    kill_after(monkeypatch, records=4)  # two batches of two addresses
    with pytest.raises(Killed):
        retention_apply(dry_run=False, started_by="scheduler", batch_size=2)
    monkeypatch.undo()

    second = retention_apply(dry_run=False, started_by="scheduler")

    killed = RetentionRun.objects.get(status=RetentionRun.Status.INTERRUPTED)
    done_by_killed = sum(d + a for d, a in counts(killed).values())
    done_by_second = sum(d + a for d, a in counts(second).values())
    assert done_by_killed == 4
    assert done_by_killed + done_by_second == 3 * 5  # 3 subjects: itself, 2 addresses, 1 service, 1 acceptance
    assert not DataSubject.objects.exclude(account_id__startswith="ERASED-").exists()


def test_a_finished_or_failed_run_is_left_as_it_is():
    closed_with_records()
    finished = retention_apply(dry_run=False, started_by="scheduler")
    retention_apply(dry_run=False, started_by="scheduler")
    finished.refresh_from_db()
    assert finished.status == RetentionRun.Status.FINISHED
    assert not RetentionRun.objects.filter(status=RetentionRun.Status.INTERRUPTED).exists()


def test_a_run_that_is_still_running_is_not_taken_for_dead():
    with services.run_lock(), pytest.raises(ValidationError) as error:  # another run holds the lock
        retention_apply(dry_run=False, started_by="scheduler")
    assert error.value.code == "run_in_progress"
    assert not RetentionRun.objects.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the lock of another process: PostgreSQL's advisory lock")
def test_a_run_in_another_process_holds_the_lock_until_its_connection_ends():
    other = connections.create_connection("default")  # what another apply_retention process holds
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [services.RUN_LOCK_KEY])
        with pytest.raises(ValidationError):
            retention_apply(dry_run=True, started_by="scheduler")
    finally:
        other.close()  # the process dies: the database lets go of its lock once its backend has ended
    for _attempt in range(50):
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = "
                           "(SELECT oid FROM pg_database WHERE datname = current_database())")
            if cursor.fetchone()[0] == 0:
                break
        time.sleep(0.1)
    assert retention_apply(dry_run=True, started_by="scheduler").status == RetentionRun.Status.FINISHED


@pytest.mark.parametrize("role", [AUDITOR, SUPPORT_AGENT, None])
def test_as_refuses_staff_who_may_not_erase_and_does_nothing(role):
    subject = closed_with_records()
    StaffFactory(username="someone", role=role)
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="may not erase data under the retention rules"):
        call_command("apply_retention", "--as", "someone", stdout=out, stderr=err)
    assert not RetentionRun.objects.exists()
    assert DataSubject.objects.get(pk=subject.pk).full_name
    assert Address.objects.filter(subject=subject).count() == 2


@pytest.mark.parametrize("who", ["nobody", "gone"])
def test_as_refuses_an_unknown_or_inactive_user(who):
    StaffFactory(username="gone", is_active=False)
    with pytest.raises(CommandError, match="No active staff member"):
        call_command("apply_retention", "--as", who, stdout=StringIO(), stderr=StringIO())
    assert not RetentionRun.objects.exists()


def test_as_accepts_a_compliance_officer(compliance_officer):
    closed_with_records()
    call_command("apply_retention", "--as", compliance_officer.username, stdout=StringIO(), stderr=StringIO())
    assert RetentionRun.objects.get().status == RetentionRun.Status.FINISHED
