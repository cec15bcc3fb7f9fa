"""Catalogue entries for the personal data a data-subject request keeps (what the requester
gave, what they asked, notes about them, the response), each bound to its field, with a
retention rule for request records. First history rows included."""

from django.db import migrations
from django.utils import timezone

REASON = "Seeded catalogue: data-subject requests (migration rights_requests 0003)"

RULE = (
    "dsr-records-3y", 3, "years", "collected", "delete",
    "Maʼlumot subyekti murojaatlari: 3 yil", "Обращения субъектов данных: 3 года",
    "Data-subject requests: 3 years (to be confirmed by counsel)",
)

FIELDS = [
    # code, category, binding, uz, ru, en
    ("request.requester_name", "identity", "rights_requests.SubjectRequest.requester_name",
     "Murojaat qiluvchining ismi", "Имя заявителя", "Requester's name as given"),
    ("request.requester_contact", "contact", "rights_requests.SubjectRequest.requester_contact",
     "Murojaat qiluvchining aloqa maʼlumoti", "Контакт заявителя", "Requester's contact as given"),
    ("request.details", "account", "rights_requests.SubjectRequest.details",
     "Murojaat matni", "Текст обращения", "What the requester asked"),
    ("request.internal_notes", "account", "rights_requests.SubjectRequest.internal_notes",
     "Murojaat boʻyicha ichki izohlar", "Внутренние заметки по обращению", "Internal notes on a request"),
    ("request.response_text", "account", "rights_requests.SubjectRequest.response_text",
     "Subyektga javob", "Ответ субъекту", "Response to the subject"),
]


def history_row(apps, model_name, obj, when):
    History = apps.get_model("catalogue", f"Historical{model_name}")
    values = {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}
    return History.objects.create(history_date=when, history_type="+", history_change_reason=REASON, **values)


def seed(apps, schema_editor):
    Purpose = apps.get_model("catalogue", "Purpose")
    System = apps.get_model("catalogue", "System")
    RetentionRule = apps.get_model("catalogue", "RetentionRule")
    PersonalDataField = apps.get_model("catalogue", "PersonalDataField")
    HistoricalPurposes = apps.get_model("catalogue", "HistoricalPersonalDataField_purposes")
    now = timezone.now()

    code, period, unit, clock, action, uz, ru, en = RULE
    rule = RetentionRule.objects.create(
        code=code, period=period, unit=unit, clock_starts=clock, end_action=action, name_uz=uz, name_ru=ru, name_en=en
    )
    history_row(apps, "RetentionRule", rule, now)
    system, created = System.objects.get_or_create(
        code="privacy-office",
        defaults={"name": "Privacy back office", "owner": "Compliance team", "country": "UZ",
                  "description": "This back office: policy acceptances, consents, requests and their evidence."},
    )
    if created:
        history_row(apps, "System", system, now)
    # Handling the subject's requests is communication with the user (1.3.2.3).
    purposes = list(Purpose.objects.filter(clause="1.3.2.3"))
    for code, category, binding, uz, ru, en in FIELDS:
        field = PersonalDataField.objects.create(
            code=code, category=category, requirement="optional", collection_method="1.2.1.1", binding=binding,
            retention_rule=rule, system=system, storage_country="UZ", name_uz=uz, name_ru=ru, name_en=en,
        )
        field.purposes.set(purposes)
        history = history_row(apps, "PersonalDataField", field, now)
        for link in PersonalDataField.purposes.through.objects.filter(personaldatafield=field):
            HistoricalPurposes.objects.create(
                history=history, id=link.id, personaldatafield_id=field.id, purpose_id=link.purpose_id
            )


class Migration(migrations.Migration):
    dependencies = [
        ("rights_requests", "0002_seed_deadline_rules"),
        ("catalogue", "0002_seed_catalogue"),
        ("consents", "0003_catalogue_consent_evidence"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
