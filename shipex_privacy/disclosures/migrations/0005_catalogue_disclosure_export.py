"""Catalogue entry for the file of a disclosure's export — the approved fields of the approved
subjects, as sent to the recipient — bound to its field, with its own retention rule: the file is
kept 90 days after it is built (long enough to send it again if the delivery failed; the period is
ShipEx's choice, to be confirmed by counsel), while the disclosure, frozen with its SHA-256, count
and manifest, stays as the record of what was sent. First history rows included."""

from django.db import migrations
from django.utils import timezone

REASON = "Seeded catalogue: disclosure export files (migration disclosures 0005)"
COUNSEL = "to be confirmed by counsel"


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
        code="disclosure-export-90d", period=90, unit="days", clock_starts="collected", end_action="delete",
        name_uz="Uzatish eksporti fayli: 90 kun", name_ru="Файл выгрузки для передачи: 90 дней",
        name_en="Disclosure export file: 90 days", note=COUNSEL,
    )
    history_row(apps, "RetentionRule", rule, now)
    field = PersonalDataField.objects.create(
        code="disclosure.export_file", category="account", requirement="optional", collection_method="1.2.1.3",
        binding="disclosures.DisclosureExport.file", retention_rule=rule, system=system, storage_country="UZ",
        name_uz="Uchinchi shaxsga uzatilgan maʼlumotlar (nusxa)", name_ru="Данные, переданные третьему лицу (копия)",
        name_en="Data disclosed to a third party (a copy)",
    )
    # The copy serves the disclosures it records: performing contracts and the law's procedure (1.3.2.2).
    field.purposes.set(Purpose.objects.filter(clause="1.3.2.2"))
    history = history_row(apps, "PersonalDataField", field, now)
    for link in PersonalDataField.purposes.through.objects.filter(personaldatafield=field):
        HistoricalPurposes.objects.create(history=history, id=link.id, personaldatafield_id=field.id,
                                          purpose_id=link.purpose_id)
    add_to_activity(apps, field, now)


def add_to_activity(apps, field, now):
    """The copy belongs to the processing activity of disclosures to couriers and partners (1.3.2.2),
    with the activity's "~" history row carrying all its links, as a save through the admin would."""
    Activity = apps.get_model("catalogue", "ProcessingActivity")
    History = apps.get_model("catalogue", "HistoricalProcessingActivity")
    activity = (Activity.objects.filter(code="delivery").first()
                or Activity.objects.filter(purposes__clause="1.3.2.2").order_by("pk").first())
    if activity is None:
        return
    activity.fields.add(field)
    values = {f.attname: getattr(activity, f.attname) for f in activity._meta.concrete_fields}
    history = History.objects.create(history_date=now, history_type="~", history_change_reason=REASON, **values)
    for name in ("purposes", "fields"):
        Historical = apps.get_model("catalogue", f"HistoricalProcessingActivity_{name}")
        through = getattr(Activity, name).through
        for link in through.objects.filter(processingactivity=activity):
            Historical.objects.create(history=history, **{f.attname: getattr(link, f.attname)
                                                          for f in through._meta.concrete_fields})


class Migration(migrations.Migration):
    dependencies = [
        ("disclosures", "0004_disclosure_export"),
        ("catalogue", "0011_seeded_texts_in_uz_ru"),
        ("catalogue", "0010_seed_processing_activities"),
        ("rights_requests", "0009_catalogue_access_package"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
