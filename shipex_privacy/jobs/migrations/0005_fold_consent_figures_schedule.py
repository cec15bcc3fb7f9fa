from django.db import migrations


def create_default_schedules(apps, schema_editor):
    from shipex_privacy.jobs.schedules import ensure_default_schedules

    ensure_default_schedules(apps)


class Migration(migrations.Migration):
    """The hourly fold of the consent report's figures joined the defaults; only missing ones are created."""

    dependencies = [("jobs", "0004_verify_audit_schedule")]

    operations = [migrations.RunPython(create_default_schedules, migrations.RunPython.noop)]
