from django.db import migrations


def create_default_schedules(apps, schema_editor):
    from shipex_privacy.jobs.schedules import ensure_default_schedules

    ensure_default_schedules(apps)


class Migration(migrations.Migration):
    """The default schedules (shipex_privacy/jobs/schedules.py); only those missing are created,
    and unapplying leaves them: they are data that staff may have edited."""

    dependencies = [
        ("jobs", "0001_job_runs"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_default_schedules, migrations.RunPython.noop)]
