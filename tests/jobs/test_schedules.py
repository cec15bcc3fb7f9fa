"""The default schedules are data after migrate, in Tashkent time, and are never duplicated."""

import pytest
from django.apps import apps
from django_celery_beat.models import PeriodicTask

from shipex_privacy.jobs.schedules import DEFAULT_SCHEDULES, ensure_default_schedules

pytestmark = pytest.mark.django_db


def schedule(task: str) -> PeriodicTask:
    return PeriodicTask.objects.select_related("interval", "crontab").get(task=task)


def test_every_job_is_scheduled_after_migrate_as_the_issue_asks():
    seal = schedule("shipex_privacy.audit.tasks.seal_audit")
    assert (seal.interval.every, seal.interval.period) == (300, "seconds") and seal.enabled

    retention = schedule("shipex_privacy.retention.tasks.apply_retention")
    assert (retention.crontab.hour, retention.crontab.minute) == ("2", "30")  # at night...
    assert str(retention.crontab.timezone) == "Asia/Tashkent"  # ...in Tashkent

    sweep = schedule("shipex_privacy.rights_requests.tasks.sweep_packages")
    assert sweep.crontab.hour not in ("*", "") and sweep.crontab.day_of_week == "*"  # once a day

    for hourly in ("check_deadlines", "check_notifications"):
        crontab = schedule(f"shipex_privacy.rights_requests.tasks.{hourly}").crontab
        assert crontab.hour == "*" and crontab.minute.isdigit()

    outbox = schedule("shipex_privacy.integrations.tasks.deliver_outbox")
    assert (outbox.interval.every, outbox.interval.period) == (10, "seconds")
    assert schedule("shipex_privacy.consents.tasks.lapse_consents").crontab.hour == "*"
    digest = schedule("shipex_privacy.notifications.tasks.morning_digests").crontab
    assert (digest.hour, digest.minute) == ("8", "0")


def test_every_scheduled_task_of_ours_is_a_registered_task():
    from config.celery import app

    app.loader.import_default_modules()
    missing = {entry["task"] for entry in DEFAULT_SCHEDULES} - set(app.tasks)
    assert missing == set()


def test_running_it_again_creates_nothing_and_keeps_what_staff_changed():
    seal = schedule("shipex_privacy.audit.tasks.seal_audit")
    seal.enabled = False  # a compliance officer paused it in the admin
    seal.save()
    count = PeriodicTask.objects.count()

    assert ensure_default_schedules(apps) == []

    assert PeriodicTask.objects.count() == count
    assert schedule("shipex_privacy.audit.tasks.seal_audit").enabled is False


def test_a_deleted_default_comes_back_once():
    PeriodicTask.objects.filter(task="shipex_privacy.audit.tasks.seal_audit").delete()

    assert ensure_default_schedules(apps) == ["Seal the audit trail"]
    assert ensure_default_schedules(apps) == []
    assert PeriodicTask.objects.filter(task="shipex_privacy.audit.tasks.seal_audit").count() == 1
