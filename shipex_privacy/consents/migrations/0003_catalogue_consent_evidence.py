"""Catalogue entries for the personal data the consent records keep as evidence (1.2.1.2), each
bound to its field, with a retention rule for consent evidence. First history rows included."""

from django.db import migrations
from django.utils import timezone

REASON = "Seeded catalogue: consent evidence (migration consents 0003)"

RULE = (
    "consent-evidence-3y", 3, "years", "consent_withdrawn", "delete",
    "Rozilik dalili: qaytarib olingandan keyin 3 yil", "Доказательства согласия: 3 года после отзыва",
    "Consent evidence: 3 years after withdrawal",
)

FIELDS = [
    # code, category, requirement, method, binding, uz, ru, en
    ("consent.acceptance_ip", "technical", "mandatory", "1.2.1.2", "consents.PolicyAcceptance.ip_address",
     "Siyosat qabul qilingan IP manzil", "IP-адрес при принятии политики", "IP address when accepting the policy"),
    ("consent.acceptance_user_agent", "technical", "mandatory", "1.2.1.2", "consents.PolicyAcceptance.user_agent",
     "Siyosat qabul qilingan brauzer", "Браузер при принятии политики", "Browser when accepting the policy"),
    ("consent.event_ip", "technical", "mandatory", "1.2.1.2", "consents.ConsentEvent.ip_address",
     "Rozilik berilgan yoki qaytarib olingan IP manzil", "IP-адрес при согласии или отзыве",
     "IP address when consenting or withdrawing"),
    ("consent.event_user_agent", "technical", "mandatory", "1.2.1.2", "consents.ConsentEvent.user_agent",
     "Rozilik berilgan yoki qaytarib olingan brauzer", "Браузер при согласии или отзыве",
     "Browser when consenting or withdrawing"),
    ("consent.document_name", "identity", "mandatory", "1.2.1.1", "consents.ConsentEvent.subject_name",
     "Rozilik hujjatidagi ism", "Имя в документе о согласии", "Name on the consent document"),
    ("consent.cookie_visitor_id", "technical", "optional", "1.2.1.2", "consents.CookieConsentEvent.visitor_id",
     "Cookie tanlovi uchun tashrifchi identifikatori", "Идентификатор посетителя для выбора cookie",
     "Visitor id of a cookie choice"),
    ("consent.cookie_ip", "technical", "optional", "1.2.1.2", "consents.CookieConsentEvent.ip_address",
     "Cookie tanlovi qilingan IP manzil", "IP-адрес при выборе cookie", "IP address of a cookie choice"),
    ("consent.cookie_user_agent", "technical", "optional", "1.2.1.2", "consents.CookieConsentEvent.user_agent",
     "Cookie tanlovi qilingan brauzer", "Браузер при выборе cookie", "Browser of a cookie choice"),
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
                  "description": "This back office: policy acceptances, consents and their evidence."},
    )
    if created:
        history_row(apps, "System", system, now)
    # Evidence proves the legal basis of processing for the Service and for communication.
    purposes = list(Purpose.objects.filter(clause__in=["1.3.2.2", "1.3.2.3"]))
    for code, category, requirement, method, binding, uz, ru, en in FIELDS:
        field = PersonalDataField.objects.create(
            code=code, category=category, requirement=requirement, collection_method=method, binding=binding,
            retention_rule=rule, system=system, storage_country="UZ", name_uz=uz, name_ru=ru, name_en=en,
        )
        field.purposes.set(purposes)
        history = history_row(apps, "PersonalDataField", field, now)
        for link in PersonalDataField.purposes.through.objects.filter(personaldatafield=field):
            HistoricalPurposes.objects.create(
                history=history, id=link.id, personaldatafield_id=field.id, purpose_id=link.purpose_id
            )


class Migration(migrations.Migration):
    dependencies = [("consents", "0002_seed_cookie_register"), ("catalogue", "0002_seed_catalogue")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
