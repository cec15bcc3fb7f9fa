"""Catalogue entry for the file of an access package — a copy of the subject's data — bound to its
field, with its own retention rule: the file is kept 90 days after it is built (long enough to send
it again), while the package's row, with its SHA-256, stays with the request's records. First
history rows included."""

from django.db import migrations
from django.utils import timezone

REASON = "Seeded catalogue: access package files (migration rights_requests 0009)"


def history_row(apps, model_name, obj, when):
    History = apps.get_model("catalogue", f"Historical{model_name}")
    values = {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}
    return History.objects.create(history_date=when, history_type="+", history_change_reason=REASON, **values)


def seed(apps, schema_editor):
    Purpose = apps.get_model("catalogue", "Purpose")
    PersonalDataField = apps.get_model("catalogue", "PersonalDataField")
    RetentionRule = apps.get_model("catalogue", "RetentionRule")
    System = apps.get_model("catalogue", "System")
    HistoricalPurposes = apps.get_model("catalogue", "HistoricalPersonalDataField_purposes")
    system = System.objects.filter(code="privacy-office").first()
    if system is None:  # the catalogue was emptied by hand: nothing to extend
        return
    now = timezone.now()
    rule = RetentionRule.objects.create(
        code="access-package-90d", period=90, unit="days", clock_starts="collected", end_action="delete",
        name_uz="Maʼlumotlar paketi fayli: 90 kun", name_ru="Файл пакета данных: 90 дней",
        name_en="Access package file: 90 days (to be confirmed by counsel)",
    )
    history_row(apps, "RetentionRule", rule, now)
    field = PersonalDataField.objects.create(
        code="request.access_package", category="account", requirement="optional", collection_method="1.2.1.3",
        binding="rights_requests.AccessPackage.file", retention_rule=rule, system=system, storage_country="UZ",
        name_uz="Maʼlumotlar paketi (nusxa)", name_ru="Пакет данных (копия)", name_en="Access package (a copy)",
    )
    field.purposes.set(Purpose.objects.filter(clause="1.3.2.3"))
    history = history_row(apps, "PersonalDataField", field, now)
    for link in PersonalDataField.purposes.through.objects.filter(personaldatafield=field):
        HistoricalPurposes.objects.create(history=history, id=link.id, personaldatafield_id=field.id,
                                          purpose_id=link.purpose_id)


class Migration(migrations.Migration):
    dependencies = [("rights_requests", "0008_access_package_file_erasable")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
