from django.db import migrations, models

from shipex_privacy.core.migration_operations import AddIndexWithoutLocking


class Migration(migrations.Migration):
    atomic = False  # PostgreSQL builds the index concurrently, outside a transaction

    dependencies = [
        ("rights_requests", "0016_seed_extension_letters"),
    ]

    operations = [
        AddIndexWithoutLocking(
            model_name="subjectrequest",
            index=models.Index(fields=["requester_contact"], name="request_requester_contact_idx"),
        ),
    ]
