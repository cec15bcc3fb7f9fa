from django.db import migrations, models

from shipex_privacy.core.migration_operations import AddIndexWithoutLocking


class Migration(migrations.Migration):
    atomic = False  # PostgreSQL builds the index concurrently, outside a transaction

    dependencies = [
        ("subjects", "0006_name_search_key"),
    ]

    operations = [
        AddIndexWithoutLocking(
            model_name="datasubject",
            index=models.Index(fields=["name_key"], name="subject_name_key_idx", opclasses=["varchar_pattern_ops"]),
        ),
    ]
