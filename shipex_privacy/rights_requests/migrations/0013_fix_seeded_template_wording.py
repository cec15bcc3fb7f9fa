"""Put right two things the seeded letters said (issues 13 and 14), in templates that still say them.

- Uzbek "Rozilikingiz" is misspelt: the possessive of *rozilik* is *roziligingiz*.
- The refusal names "the authorised state body" where the law names the authority: the
  Personalization Agency under the Ministry of Justice (renamed from the State Personalization
  Centre; to be confirmed by counsel).

Only the phrase is replaced, so a template the compliance team has edited keeps its other words;
one that no longer holds the phrase is left alone. Each change gets the history row a save writes.
"""

from django.db import migrations
from django.utils import timezone

REASON = "Seeded letters: Uzbek spelling and the authority's name (migration rights_requests 0013)"

REPLACEMENTS = {
    "uz": [
        ("Rozilikingiz qaytarib olindi", "Roziligingiz qaytarib olindi"),
        ("shaxsga doir maʼlumotlar sohasidagi vakolatli davlat organiga",
         "Adliya vazirligi huzuridagi Personallashtirish agentligiga"),
    ],
    "ru": [
        ("в уполномоченный государственный орган в области персональных данных",
         "в Агентство персонализации при Министерстве юстиции"),
    ],
    "en": [
        ("to the authorised state body for personal data",
         "to the Personalization Agency under the Ministry of Justice"),
    ],
}


def fix(apps, schema_editor):
    ResponseTemplate = apps.get_model("rights_requests", "ResponseTemplate")
    History = apps.get_model("rights_requests", "HistoricalResponseTemplate")
    now = timezone.now()
    for template in ResponseTemplate.objects.order_by("pk"):
        body = template.body
        for old, new in REPLACEMENTS.get(template.language, []):
            body = body.replace(old, new)
        if body == template.body:
            continue
        template.body = body
        template.save(update_fields=["body"])
        values = {field.attname: getattr(template, field.attname) for field in template._meta.concrete_fields}
        History.objects.create(history_date=now, history_type="~", history_change_reason=REASON, **values)


class Migration(migrations.Migration):
    dependencies = [("rights_requests", "0012_dashboard_closed_index")]

    operations = [migrations.RunPython(fix, migrations.RunPython.noop)]
