"""The name search key (issue 13): a column that repeats each subject's name in the form it is searched in.

It is set by the field itself on every write (``core.fields.NameSearchKeyField``); here it is filled in
for the subjects that exist, one audited change each: the row saved with its key and a history row
naming this migration, as a save through the ORM records it (history is append-only, so the rows of
the past keep the empty key they had). The index follows in 0007, built without locking the table.
"""

from django.db import migrations
from django.utils import timezone

import shipex_privacy.core.fields

REASON = "Name search key filled in from the full name (migration subjects 0006, issue 13)"
BATCH = 1000


def fill_name_keys(apps, schema_editor):
    Subject = apps.get_model("subjects", "DataSubject")
    History = apps.get_model("subjects", "HistoricalDataSubject")
    key_field = Subject._meta.get_field("name_key")
    now, last = timezone.now(), 0
    while True:
        # In batches by id (not a cursor): SQLite would see its own writes in an open cursor.
        batch = list(Subject.objects.filter(pk__gt=last).exclude(full_name="").order_by("pk")[:BATCH])
        if not batch:
            return
        last = batch[-1].pk
        for subject in batch:
            before = subject.name_key
            if key_field.pre_save(subject, False) == before:
                continue  # a name with no letters or digits keeps the empty key it has
            subject.save(update_fields=["name_key"])
            values = {field.attname: getattr(subject, field.attname) for field in Subject._meta.concrete_fields}
            History.objects.create(history_date=now, history_type="~", history_change_reason=REASON,
                                   history_username="system:migrate", **values)


class Migration(migrations.Migration):

    dependencies = [
        ("subjects", "0005_status_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="datasubject",
            name="name_key",
            field=shipex_privacy.core.fields.NameSearchKeyField(source="full_name", verbose_name="name search key"),
        ),
        migrations.AddField(
            model_name="historicaldatasubject",
            name="name_key",
            field=shipex_privacy.core.fields.NameSearchKeyField(source="full_name", verbose_name="name search key"),
        ),
        migrations.RunPython(fill_name_keys, migrations.RunPython.noop, elidable=False),
    ]
