"""The default schedules (django-celery-beat rows), created once by a data migration.

They are data: compliance officers change them in the admin (Periodic tasks), and nothing here
overwrites a schedule that exists. ``ensure_default_schedules`` creates only what is missing, by
the task's schedule name, so running it again (or after somebody deleted one) never duplicates.
Crontabs are in Tashkent time. A default added here later needs a new migration that calls
``ensure_default_schedules`` again (databases that ran 0002 would not see it otherwise).
"""

from django.utils.translation import gettext_noop

TIMEZONE = "Asia/Tashkent"

# name → task, and either ("every", seconds) or ("crontab", minute, hour); expires: a run that
# waited in the queue longer than this (workers down) is dropped rather than piling up.
DEFAULT_SCHEDULES = [
    {"name": gettext_noop("Seal the audit trail"), "task": "shipex_privacy.audit.tasks.seal_audit",
     "every": 5 * 60, "expire_seconds": 5 * 60,
     "description": "Seals new history and access-log digests into the chain (seal_audit), every 5 minutes."},
    {"name": gettext_noop("Verify the audit record"), "task": "shipex_privacy.audit.tasks.verify_audit",
     "crontab": {"minute": "0", "hour": "4"}, "expire_seconds": 4 * 3600,
     "description": "Checks every history and access-log row and the seal chain (verify_audit), nightly at 04:00."},
    {"name": gettext_noop("Make access-log partitions ahead"),
     "task": "shipex_privacy.audit.tasks.make_access_log_partitions",
     "crontab": {"minute": "20", "hour": "1"}, "expire_seconds": 4 * 3600,
     "description": "Creates the access log's monthly partitions for the next 3 months (PostgreSQL), daily."},
    {"name": gettext_noop("Apply retention rules"), "task": "shipex_privacy.retention.tasks.apply_retention",
     "crontab": {"minute": "30", "hour": "2"}, "expire_seconds": 4 * 3600,
     "description": "Deletes or anonymises data past its retention rule (apply_retention), nightly at 02:30."},
    {"name": gettext_noop("Sweep access-package files"), "task": "shipex_privacy.rights_requests.tasks.sweep_packages",
     "crontab": {"minute": "15", "hour": "3"}, "expire_seconds": 4 * 3600,
     "description": "Removes package files no row names and stale temporary files (sweep_package_files), daily."},
    {"name": gettext_noop("Check request deadlines"), "task": "shipex_privacy.rights_requests.tasks.check_deadlines",
     "crontab": {"minute": "5", "hour": "*"}, "expire_seconds": 3600,
     "description": "Counts overdue requests and those due within 3 days, hourly."},
    {"name": gettext_noop("Check subject notifications"),
     "task": "shipex_privacy.rights_requests.tasks.check_notifications",
     "crontab": {"minute": "10", "hour": "*"}, "expire_seconds": 3600,
     "description": "Counts subjects not told of a disclosure in time (ZRU-547 art. 23), hourly."},
    {"name": gettext_noop("Prune old job runs"), "task": "shipex_privacy.jobs.tasks.prune_job_runs",
     "crontab": {"minute": "45", "hour": "3"}, "expire_seconds": 4 * 3600,
     "description": "Deletes job runs older than SHIPEX_JOB_RUNS_KEPT_DAYS (default 180), daily."},
    {"name": gettext_noop("Deliver the outbox"), "task": "shipex_privacy.integrations.tasks.deliver_outbox",
     "every": 10, "expire_seconds": 60,
     "description": "Delivers outbox messages to the systems' webhooks, continuously (every 10 seconds)."},
    {"name": gettext_noop("Lapse consents whose term ended"), "task": "shipex_privacy.consents.tasks.lapse_consents",
     "crontab": {"minute": "2", "hour": "*"}, "expire_seconds": 3600,
     "description": "Records a lapse for each consent whose term ended (lapse_consents), hourly."},
    {"name": gettext_noop("Fold the consent report's figures"),
     "task": "shipex_privacy.consents.tasks.fold_consent_figures",
     "crontab": {"minute": "7", "hour": "*"}, "expire_seconds": 3600,
     "description": "Folds the consent report's changes of past days into daily figures (fold_consent_figures), "
                    "hourly."},
    {"name": gettext_noop("Staff morning digest"), "task": "shipex_privacy.notifications.tasks.morning_digests",
     "crontab": {"minute": "0", "hour": "8"}, "expire_seconds": 4 * 3600,
     "description": "Mails each staff member their due and overdue work (send_digests), at 08:00."},
]


def ensure_default_schedules(apps) -> list[str]:
    """Create the default schedules that do not exist yet; returns the names created."""
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    created = []
    for default in DEFAULT_SCHEDULES:
        if PeriodicTask.objects.filter(name=default["name"]).exists():
            continue
        task = PeriodicTask(name=default["name"], task=default["task"], description=default["description"],
                            expire_seconds=default["expire_seconds"], enabled=True)
        if "every" in default:
            task.interval, _ = IntervalSchedule.objects.get_or_create(every=default["every"], period="seconds")
        else:
            task.crontab, _ = CrontabSchedule.objects.get_or_create(
                minute=default["crontab"]["minute"], hour=default["crontab"]["hour"], day_of_week="*",
                day_of_month="*", month_of_year="*", timezone=TIMEZONE)
        task.save()
        created.append(task.name)
    if created:
        # django-celery-beat's scheduler reloads its schedule when this stamp changes.
        PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
        from django.utils import timezone

        PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})
    return created
