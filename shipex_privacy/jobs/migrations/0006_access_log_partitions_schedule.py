from django.db import migrations


def create_default_schedules(apps, schema_editor):
    from shipex_privacy.jobs.schedules import ensure_default_schedules

    ensure_default_schedules(apps)


class Migration(migrations.Migration):
    """The daily job making the access log's partitions ahead joined the defaults (issue 15)."""

    dependencies = [("jobs", "0005_fold_consent_figures_schedule"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [migrations.RunPython(create_default_schedules, migrations.RunPython.noop)]
