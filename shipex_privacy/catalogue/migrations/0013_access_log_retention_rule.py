"""The access log's own retention rule (issue 15): months past it are retired whole (audit/partitions.py).

Five years from each entry, the period to be confirmed by counsel (the staff-only note says so). Not
statutory: no law is cited yet. Created with its first history row; a database that already has a
rule with this code keeps it as it is.
"""

from django.db import migrations
from django.utils import timezone

REASON = "Seeded the access log's retention rule (migration catalogue 0013, issue 15)"
CODE = "access-log"  # audit/partitions.py RULE_CODE

RULE = {
    "period": 5, "unit": "years", "clock_starts": "collected", "end_action": "delete", "is_statutory": False,
    "legal_reference": "", "legal_reference_uz": "", "legal_reference_ru": "",
    "note": "Period to be confirmed by counsel: access-log entries (clause 1.7.1) are retired a whole month "
            "at a time once the month is past it.",
    "name_uz": "Maʼlumotlarga kirish jurnali: 5 yil",
    "name_ru": "Журнал доступа к данным: 5 лет",
    "name_en": "Access log: 5 years",
}


def seed(apps, schema_editor):
    RetentionRule = apps.get_model("catalogue", "RetentionRule")
    History = apps.get_model("catalogue", "HistoricalRetentionRule")
    if RetentionRule.objects.filter(code=CODE).exists():
        return
    rule = RetentionRule.objects.create(code=CODE, **RULE)
    values = {field.attname: getattr(rule, field.attname) for field in rule._meta.concrete_fields}
    History.objects.create(history_date=timezone.now(), history_type="+", history_change_reason=REASON, **values)


class Migration(migrations.Migration):
    dependencies = [("catalogue", "0012_activity_and_transfer_texts_in_uz_ru")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
