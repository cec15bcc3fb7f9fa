"""The scheduled tasks do what their management commands do, through the same services, and
their runs say so in numbers."""

import datetime

import pytest
from django.utils import timezone

from shipex_privacy.audit.tasks import seal_audit
from shipex_privacy.jobs.models import JobRun
from shipex_privacy.retention.models import RetentionRun
from shipex_privacy.retention.services import run_lock
from shipex_privacy.retention.tasks import apply_retention
from shipex_privacy.rights_requests.tasks import check_deadlines, check_notifications, sweep_packages
from tests.retention.factories import ClosedSubjectFactory
from tests.rights_requests.factories import SubjectRequestFactory

pytestmark = pytest.mark.django_db


def last_summary(job: str) -> dict:
    return JobRun.objects.get(job=job, outcome="succeeded").summary


def test_the_nightly_retention_job_erases_an_expired_account_and_counts_it():
    expired = ClosedSubjectFactory()

    summary = apply_retention()

    expired.refresh_from_db()
    assert expired.full_name == ""
    run = RetentionRun.objects.get(pk=summary["retention_run"])
    assert run.started_by == "scheduler" and not run.dry_run
    assert summary["deleted"] + summary["anonymised"] >= 1 and summary["failed"] == 0
    assert last_summary("retention.apply") == summary


def test_the_retention_job_steps_aside_for_a_run_started_by_hand():
    with run_lock():  # `manage.py apply_retention` is running
        summary = apply_retention()
    assert "Another retention run is in progress" in summary["skipped"]
    assert not RetentionRun.objects.exists()


def test_the_deadline_check_counts_overdue_requests_and_those_due_soon():
    now = timezone.now()
    SubjectRequestFactory(received_at=now - datetime.timedelta(days=40), due_at=now - datetime.timedelta(days=10))
    SubjectRequestFactory(received_at=now, due_at=now + datetime.timedelta(days=2))
    SubjectRequestFactory(received_at=now, due_at=now + datetime.timedelta(days=20))

    assert check_deadlines() == {"overdue": 1, "due_within_3_days": 1}


def test_the_notification_check_and_the_sweep_record_their_counts():
    assert check_notifications() == {"notifications_overdue": 0}
    assert sweep_packages() == {"orphans_removed": 0, "temporary_removed": 0, "kept": 0}
    assert last_summary("rights_requests.check_notifications") == {"notifications_overdue": 0}


def test_the_seal_job_leaves_fresh_digests_for_the_next_run():
    """As seal_audit: digests younger than five minutes wait (a transaction may still be open)."""
    seal_audit()  # seals whatever settled before this test (the migrations' rows, on an older database)
    SubjectRequestFactory()  # writes history, hence digests, just now
    summary = seal_audit()
    assert (summary["seals"], summary["digests"]) == (0, 0)
    assert JobRun.objects.filter(job="audit.seal", outcome="succeeded").count() == 2


def test_old_job_runs_are_pruned_and_recent_ones_kept(settings):
    from shipex_privacy.jobs.tasks import prune_job_runs
    from tests.jobs.factories import JobRunFactory

    settings.SHIPEX_JOB_RUNS_KEPT_DAYS = 30
    old = JobRunFactory(started_at=timezone.now() - datetime.timedelta(days=31))
    recent = JobRunFactory(started_at=timezone.now() - datetime.timedelta(days=29))

    assert prune_job_runs() == {"deleted": 1, "kept_days": 30}
    assert not JobRun.objects.filter(pk=old.pk).exists() and JobRun.objects.filter(pk=recent.pk).exists()


def test_the_nightly_verification_is_recorded_and_the_auditor_home_shows_it(client, auditor):
    from shipex_privacy.audit.home import verify_state
    from shipex_privacy.audit.tasks import verify_audit

    summary = verify_audit()

    assert summary["rows"] >= 1 and last_summary("audit.verify") == summary
    state = verify_state(auditor)
    assert state.recorded and state.succeeded and f"{summary['rows']} " in state.summary
    client.force_login(auditor)
    verified_at = timezone.localtime(state.finished_at).strftime("%d.%m.%Y %H:%M")
    assert verified_at in client.get("/admin/").content.decode()


def test_a_verification_that_finds_tampering_fails_its_run_names_the_row_and_mails_the_auditors(auditor):
    from django.core import mail

    from shipex_privacy.audit.home import verify_state
    from shipex_privacy.audit.models import AccessEvent
    from shipex_privacy.audit.tasks import AuditRecordAltered, verify_audit
    from tests.audit.test_tamper import ACCESS_LOG, as_database_owner

    auditor.email = "gulnora@shipex.uz"
    auditor.save()
    event = AccessEvent.objects.create(user_id=auditor.pk, username=auditor.username,
                                       action=AccessEvent.Action.SUBJECT_VIEW, subject_id=1)
    as_database_owner(f"UPDATE {ACCESS_LOG} SET username = 'nobody' WHERE id = %s", [event.pk])

    with pytest.raises(AuditRecordAltered):
        verify_audit()

    run = JobRun.objects.get(job="audit.verify")
    assert run.outcome == JobRun.Outcome.FAILED and f"{ACCESS_LOG} id={event.pk}" in run.error
    state = verify_state(auditor)
    assert state.recorded and not state.succeeded and f"{ACCESS_LOG} id={event.pk}" in state.summary
    assert [message.to for message in mail.outbox] == [["gulnora@shipex.uz"]]
