"""Seed the extension letter for each request kind in Uzbek, Russian and English: the subject learns
the new deadline and why. The compliance team edits them in the admin; each row gets its first
history row. The letter names the request, never the person (ResponseTemplate.EXTENSION_PLACEHOLDERS).
"""

from django.db import migrations
from django.utils import timezone

REASON = "Seeded extension letters (migration rights_requests 0016)"

KINDS = ("access", "information", "correction", "erasure", "consent_withdrawal", "stop", "advertising_objection",
         "complaint")
LETTER = {
    "uz": "Hurmatli mijoz!\n\n{received_on} kuni olingan №{request_id} murojaatingiz ({kind}) boʻyicha javob "
          "muddati {due_on} gacha uzaytirildi.\n\nSababi: {extension_reason}\n\nJavobni shu sanagacha "
          "yuboramiz.\n\nHurmat bilan,\nShipEx maxfiylik xizmati",
    "ru": "Уважаемый клиент!\n\nСрок ответа на ваш запрос № {request_id} ({kind}), полученный {received_on}, "
          "продлён до {due_on}.\n\nПричина: {extension_reason}\n\nМы ответим не позднее этой даты.\n\n"
          "С уважением,\nСлужба конфиденциальности ShipEx",
    "en": "Dear customer,\n\nThe deadline for our answer to your request No. {request_id} ({kind}), received on "
          "{received_on}, is extended to {due_on}.\n\nThe reason: {extension_reason}\n\nWe will answer by that "
          "date.\n\nKind regards,\nShipEx privacy team",
}


def seed(apps, schema_editor):
    ResponseTemplate = apps.get_model("rights_requests", "ResponseTemplate")
    History = apps.get_model("rights_requests", "HistoricalResponseTemplate")
    now = timezone.now()
    for kind in KINDS:
        for language, body in LETTER.items():
            if ResponseTemplate.objects.filter(kind=kind, outcome="extended", language=language).exists():
                continue
            template = ResponseTemplate.objects.create(kind=kind, outcome="extended", language=language, body=body)
            values = {field.attname: getattr(template, field.attname) for field in template._meta.concrete_fields}
            History.objects.create(history_date=now, history_type="+", history_change_reason=REASON, **values)


class Migration(migrations.Migration):
    dependencies = [("rights_requests", "0015_deadline_extension_rule_and_letter")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
