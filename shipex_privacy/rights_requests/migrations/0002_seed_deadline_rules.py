"""Seed the deadline table from ZRU-547 "On personal data": correction 3 days (art. 11), a written
refusal 10 days (art. 22), 30 days for every other kind. Every rule is in calendar days (the
stricter reading; see DeadlineRule) and marked "to be confirmed by counsel". Each seeded row gets
its first history row, so the table's history starts with the seed.
"""

from django.db import migrations
from django.utils import timezone

REASON = "Seeded deadline table (migration rights_requests 0002)"
NOTE = "to be confirmed by counsel"
REST = "30 days pending counsel's confirmation (ZRU-547 sets no specific term for this kind)"

RULES = [
    # kind, days, legal reference
    ("access", 30, REST),
    ("information", 30, REST),
    ("correction", 3, "ZRU-547 “On personal data”, art. 11"),
    ("erasure", 30, REST),
    ("consent_withdrawal", 30, REST),
    ("stop", 30, REST),
    ("advertising_objection", 30, REST),
    ("complaint", 30, REST),
    ("refusal", 10, "ZRU-547 “On personal data”, art. 22"),
]


def seed(apps, schema_editor):
    DeadlineRule = apps.get_model("rights_requests", "DeadlineRule")
    History = apps.get_model("rights_requests", "HistoricalDeadlineRule")
    now = timezone.now()
    for kind, days, reference in RULES:
        rule = DeadlineRule.objects.create(kind=kind, days=days, day_count="calendar", legal_reference=reference,
                                           note=NOTE)
        values = {field.attname: getattr(rule, field.attname) for field in rule._meta.concrete_fields}
        History.objects.create(history_date=now, history_type="+", history_change_reason=REASON, **values)


class Migration(migrations.Migration):
    dependencies = [("rights_requests", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
