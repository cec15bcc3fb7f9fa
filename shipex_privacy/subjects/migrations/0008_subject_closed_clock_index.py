from django.db import migrations, models

from shipex_privacy.core.migration_operations import AddIndexWithoutLocking


class Migration(migrations.Migration):
    """The retention clock of closed accounts: a run reads the accounts closed before its cut-off only."""

    atomic = False  # PostgreSQL builds the index concurrently, outside a transaction

    dependencies = [
        ("subjects", "0007_name_key_index"),
    ]

    operations = [
        AddIndexWithoutLocking(
            model_name="datasubject",
            index=models.Index(condition=models.Q(("status__in", ("closed", "anonymised"))),
                               fields=["status_changed_at"], name="subject_closed_clock_idx"),
        ),
    ]
