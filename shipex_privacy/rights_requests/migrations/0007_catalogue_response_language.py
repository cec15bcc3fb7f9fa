"""Catalogue entry for the language a request is answered in (copied from the subject when the
request is matched), bound to its field, under the request records' retention rule. First
history rows included."""

from django.db import migrations
from django.utils import timezone

REASON = "Seeded catalogue: language of a request's response (migration rights_requests 0007)"


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
    rule = RetentionRule.objects.filter(code="dsr-records-3y").first()
    system = System.objects.filter(code="privacy-office").first()
    if rule is None or system is None:  # the catalogue was emptied by hand: nothing to extend
        return
    field = PersonalDataField.objects.create(
        code="request.response_language", category="account", requirement="optional", collection_method="1.2.1.3",
        binding="rights_requests.SubjectRequest.response_language", retention_rule=rule, system=system,
        storage_country="UZ", name_uz="Javob tili", name_ru="Язык ответа", name_en="Language of the response",
    )
    field.purposes.set(Purpose.objects.filter(clause="1.3.2.3"))
    history = history_row(apps, "PersonalDataField", field, timezone.now())
    for link in PersonalDataField.purposes.through.objects.filter(personaldatafield=field):
        HistoricalPurposes.objects.create(history=history, id=link.id, personaldatafield_id=field.id,
                                          purpose_id=link.purpose_id)


class Migration(migrations.Migration):
    dependencies = [("rights_requests", "0006_response_language")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
