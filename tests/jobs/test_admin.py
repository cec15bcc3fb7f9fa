"""Job runs are read only for everyone; compliance officers edit schedules, auditors read them,
support agents see neither."""

import pytest
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from tests.jobs.factories import JobRunFactory

pytestmark = pytest.mark.django_db

ENGLISH = {"django_language": "en"}


def test_auditors_and_compliance_read_job_runs_in_few_queries(client, auditor, compliance_officer,
                                                              django_assert_max_num_queries):
    for number in range(30):
        JobRunFactory(summary={"seals": number, "digests": 40 + number})
    failed = JobRunFactory(job="retention.apply", outcome="failed", error="RetentionRunFailed: run #9")
    for user in (auditor, compliance_officer):
        client.force_login(user)
        client.cookies.load(ENGLISH)
        with django_assert_max_num_queries(12):
            page = client.get(reverse("admin:jobs_jobrun_changelist"))
        assert page.status_code == 200
        assert "digests: 69" in page.content.decode()
        record = client.get(reverse("admin:jobs_jobrun_change", args=[failed.pk]))
        assert "RetentionRunFailed: run #9" in record.content.decode()
        assert "Save" not in record.content.decode()  # nothing to change there


def test_nobody_adds_changes_or_deletes_a_job_run(admin_client):
    run = JobRunFactory()
    assert admin_client.get(reverse("admin:jobs_jobrun_add")).status_code == 403
    assert admin_client.post(reverse("admin:jobs_jobrun_change", args=[run.pk]), {"job": "x"}).status_code == 403
    assert admin_client.post(reverse("admin:jobs_jobrun_delete", args=[run.pk]), {"post": "yes"}).status_code == 403
    run.refresh_from_db()
    assert run.job == "audit.seal"


def test_a_compliance_officer_pauses_a_schedule_from_the_list(client, compliance_officer):
    seal = PeriodicTask.objects.get(task="shipex_privacy.audit.tasks.seal_audit")
    client.force_login(compliance_officer)
    response = client.post(reverse("admin:django_celery_beat_periodictask_changelist"),
                           {"action": "disable_tasks", "_selected_action": [seal.pk]})
    assert response.status_code == 302
    seal.refresh_from_db()
    assert seal.enabled is False


def test_an_auditor_reads_schedules_and_is_offered_no_action(client, auditor):
    seal = PeriodicTask.objects.get(task="shipex_privacy.audit.tasks.seal_audit")
    client.force_login(auditor)
    page = client.get(reverse("admin:django_celery_beat_periodictask_changelist"))
    assert page.status_code == 200 and "Audit jurnalini muhrlash" in page.content.decode()  # the default name, in Uzbek
    assert 'name="action"' not in page.content.decode()
    client.post(reverse("admin:django_celery_beat_periodictask_changelist"),
                {"action": "disable_tasks", "_selected_action": [seal.pk]})
    seal.refresh_from_db()
    assert seal.enabled is True


def test_support_agents_see_neither_runs_nor_schedules(client, support_agent):
    JobRunFactory()
    client.force_login(support_agent)
    for name in ("admin:jobs_jobrun_changelist", "admin:django_celery_beat_periodictask_changelist",
                 "admin:django_celery_beat_crontabschedule_changelist"):
        assert client.get(reverse(name)).status_code == 403, name


def test_the_schedules_pages_speak_uzbek(client, compliance_officer):
    """django-celery-beat has no Uzbek catalogue; its strings come from locale/uz/admin-gaps.po."""
    client.force_login(compliance_officer)
    client.cookies["django_language"] = "uz"
    listing = client.get(reverse("admin:django_celery_beat_periodictask_changelist")).content.decode()
    assert "Davriy vazifalar" in listing and "Periodic tasks" not in listing
    task = PeriodicTask.objects.order_by("pk").first()
    page = client.get(reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])).content.decode()
    for english in ("Arguments", "Last Run Datetime", "Interval Schedule", "Crontab Schedule"):
        assert english not in page, english
    assert "Kalit soʻzli argumentlar" in page
