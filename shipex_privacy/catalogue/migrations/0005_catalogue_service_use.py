"""Catalogue entries for the services a subject uses (subjects.ServiceUse), with first history rows."""

from django.db import migrations
from django.utils import timezone

REASON = "Seeded catalogue: services used (migration catalogue 0005)"

FIELDS = [
    ("account.services_used", "subjects.ServiceUse.service",
     "Foydalanilayotgan xizmatlar", "Используемые сервисы", "Services used"),
    ("account.service_started_on", "subjects.ServiceUse.started_on",
     "Xizmatdan foydalanish boshlangan sana", "Дата начала использования сервиса", "Using the service since"),
]


def seed(apps, schema_editor):
    PersonalDataField = apps.get_model("catalogue", "PersonalDataField")
    Purpose = apps.get_model("catalogue", "Purpose")
    System = apps.get_model("catalogue", "System")
    RetentionRule = apps.get_model("catalogue", "RetentionRule")
    History = apps.get_model("catalogue", "HistoricalPersonalDataField")
    HistoricalPurposes = apps.get_model("catalogue", "HistoricalPersonalDataField_purposes")
    purposes = list(Purpose.objects.filter(clause__in=["1.3.2.1", "1.3.2.2"]))
    rule, system, now = RetentionRule.objects.get(code="account-3y"), System.objects.get(code="shipex-app"), timezone.now()
    for code, binding, uz, ru, en in FIELDS:
        field = PersonalDataField.objects.create(
            code=code, category="account", requirement="mandatory", collection_method="1.2.1.3", binding=binding,
            retention_rule=rule, system=system, storage_country="UZ", name_uz=uz, name_ru=ru, name_en=en,
        )
        field.purposes.set(purposes)
        values = {f.attname: getattr(field, f.attname) for f in field._meta.concrete_fields}
        history = History.objects.create(history_date=now, history_type="+", history_change_reason=REASON, **values)
        for link in PersonalDataField.purposes.through.objects.filter(personaldatafield=field):
            HistoricalPurposes.objects.create(
                history=history, id=link.id, personaldatafield_id=field.id, purpose_id=link.purpose_id
            )


class Migration(migrations.Migration):
    dependencies = [("catalogue", "0004_seed_services")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
