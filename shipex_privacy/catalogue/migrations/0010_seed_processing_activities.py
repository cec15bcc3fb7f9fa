"""Seed ShipEx's processing activities for the records of processing (issue 13), with first history rows.

Each activity is a piece of ShipEx's work the policy describes (purposes 1.3.2.1–1.3.2.6, data of
1.2.1.1–1.2.1.3), with the catalogue entries it uses; every entry serves one of the activity's
purposes in the catalogue, which the seed checks: an entry or purpose missing or changed on a database
(or in the tests' replay of catalogue 0002 alone) is left out rather than stopping the migration.
"""

from django.db import migrations
from django.utils import timezone

REASON = "Seeded processing activities (migration catalogue 0010, issue 13)"

CUSTOMERS, RECIPIENTS, VISITORS, APPLICANTS = "customers", "shipment_recipients", "visitors", "applicants"
ADDRESS = ("address.region", "address.city", "address.street", "address.landmark", "address.postal_code")
TECHNICAL = ("technical.ip_address", "technical.cookie_id", "technical.browser", "technical.device",
             "technical.accessed_at")

ACTIVITIES = [
    # code, uz, ru, en, description, purposes, subject categories, catalogue entries
    ("account",
     "Akkauntni roʻyxatdan oʻtkazish va yuritish", "Регистрация и ведение аккаунта", "Account registration and management",
     "Registration in the app or on shipex.uz, the profile in the “Personal” section, saved addresses (1.2.1.1, 1.5.1).",
     ("1.3.2.1", "1.3.2.2", "1.3.2.3"), (CUSTOMERS,),
     ("account.account_id", "account.registered_at", "account.preferred_language", "identity.full_name",
      "identity.birth_date", "contact.phone", "contact.email", *ADDRESS, "account.services_used",
      "account.service_started_on")),
    ("delivery",
     "Joʻnatmalarni qabul qilish va yetkazib berish", "Приём и доставка отправлений", "Pick-up and delivery of shipments",
     "Taking a shipment, routing it, handing it over to its recipient and proving the handover.",
     ("1.3.2.1", "1.3.2.2", "1.3.2.3"), (CUSTOMERS, RECIPIENTS),
     ("identity.full_name", "contact.phone", *ADDRESS, "shipment.recipient_name", "shipment.recipient_phone",
      "shipment.delivery_address", "shipment.contents", "shipment.delivery_location", "document.face_photo")),
    ("customs",
     "Xalqaro joʻnatmalarni bojxona rasmiylashtiruvi", "Таможенное оформление международных отправлений",
     "Customs clearance of international shipments",
     "Customs declarations for shipments crossing the border; kept for the statutory period (1.3.1).",
     ("1.3.2.1", "1.3.2.2"), (CUSTOMERS, RECIPIENTS),
     ("identity.full_name", "document.pinfl", "document.passport", "shipment.customs_declaration",
      "shipment.contents")),
    ("payments",
     "Toʻlovlar va buxgalteriya hisobi", "Платежи и бухгалтерский учёт", "Payments and accounting",
     "Invoices, card and cash-on-delivery payments, and the accounting records the law requires (1.3.1).",
     ("1.3.2.2",), (CUSTOMERS,),
     ("account.account_id", "identity.full_name", "payment.card_masked", "payment.history")),
    ("support",
     "Foydalanuvchilar bilan aloqa va murojaatlarni koʻrib chiqish",
     "Связь с пользователями и рассмотрение обращений", "Communication with users and handling their requests",
     "Notifications about shipments, the call centre, chats and requests of data subjects (1.3.2.3).",
     ("1.3.2.3",), (CUSTOMERS, RECIPIENTS, APPLICANTS),
     ("account.account_id", "account.preferred_language", "identity.full_name", "contact.phone", "contact.email",
      "contact.call_records", "shipment.recipient_name", "shipment.recipient_phone")),
    ("subject-requests",
     "Maʼlumotlar subyektlarining soʻrovlarini koʻrib chiqish", "Рассмотрение запросов субъектов данных",
     "Handling data-subject requests",
     "Requests for access, correction, deletion, withdrawal of consent and stop (1.5.1, 1.5.2), and the answers.",
     ("1.3.2.3",), (CUSTOMERS, APPLICANTS),
     ("request.requester_name", "request.requester_contact", "request.details", "request.internal_notes",
      "request.response_text", "request.response_language", "request.access_package")),
    ("consent-records",
     "Siyosatni qabul qilish va rozilik dalillarini saqlash", "Хранение доказательств принятия политики и согласий",
     "Keeping the evidence of policy acceptances and consents",
     "Which policy version a user accepted, consents given and withdrawn, cookie choices (1.1, 1.6.2).",
     ("1.3.2.2", "1.3.2.3"), (CUSTOMERS, VISITORS),
     ("consent.document_name", "consent.acceptance_ip", "consent.acceptance_user_agent", "consent.event_ip",
      "consent.event_user_agent", "consent.cookie_visitor_id", "consent.cookie_ip", "consent.cookie_user_agent")),
    ("service-operation",
     "Veb-sayt va ilova ishini taʼminlash", "Обеспечение работы сайта и приложения",
     "Operating the website and the app",
     "Technical data the user's device sends (1.2.1.2) and strictly necessary cookies (1.6.3).",
     ("1.3.2.2",), (CUSTOMERS, VISITORS), TECHNICAL),
    ("improvement",
     "Xizmatlar sifatini yaxshilash", "Улучшение качества сервисов", "Improving the Services",
     "Finding faults and improving the usability of the Services, developing new ones (1.3.2.4).",
     ("1.3.2.4",), (CUSTOMERS, VISITORS, APPLICANTS),
     (*TECHNICAL, "technical.operating_system", "technical.pages", "technical.counter_data",
      "contact.call_records")),
    ("marketing",
     "Maqsadli reklama", "Таргетированная реклама", "Targeted advertising",
     "Advertising suited to the user, only with the user's consent (1.3.2.5, 1.6.1).",
     ("1.3.2.5",), (CUSTOMERS, VISITORS),
     ("contact.email", "technical.cookie_id", "technical.counter_data")),
    ("analytics",
     "Statistika va tadqiqotlar", "Статистика и исследования", "Statistics and research",
     "Usage statistics from counters (1.6.4), on depersonalised data only (1.3.2.6).",
     ("1.3.2.6",), (CUSTOMERS, VISITORS),
     ("technical.pages", "technical.counter_data")),
]


def seed(apps, schema_editor):
    Activity = apps.get_model("catalogue", "ProcessingActivity")
    Purpose = apps.get_model("catalogue", "Purpose")
    PersonalDataField = apps.get_model("catalogue", "PersonalDataField")
    History = apps.get_model("catalogue", "HistoricalProcessingActivity")
    HistoricalPurposes = apps.get_model("catalogue", "HistoricalProcessingActivity_purposes")
    HistoricalFields = apps.get_model("catalogue", "HistoricalProcessingActivity_fields")
    purposes = {purpose.clause: purpose for purpose in Purpose.objects.all()}
    fields = {field.code: field for field in PersonalDataField.objects.prefetch_related("purposes")}
    plans = []
    for code, uz, ru, en, description, clauses, categories, codes in ACTIVITIES:
        # A database whose catalogue was edited before this migration: seed only what still fits it.
        chosen = [purposes[clause] for clause in clauses if clause in purposes]
        wanted = {purpose.pk for purpose in chosen}
        entries = [fields[name] for name in codes if name in fields
                   and wanted & {purpose.pk for purpose in fields[name].purposes.all()}]
        if chosen and entries:
            plans.append((code, uz, ru, en, description, chosen, list(categories), entries))
    now = timezone.now()
    for code, uz, ru, en, description, chosen, categories, entries in plans:
        activity = Activity.objects.create(code=code, name_uz=uz, name_ru=ru, name_en=en, description=description,
                                           subject_categories=categories)
        activity.purposes.set(chosen)
        activity.fields.set(entries)
        history = History.objects.create(
            id=activity.id, code=code, name_uz=uz, name_ru=ru, name_en=en, description=description,
            subject_categories=categories, history_date=now, history_type="+", history_change_reason=REASON,
        )
        for link in Activity.purposes.through.objects.filter(processingactivity=activity):
            HistoricalPurposes.objects.create(history=history, id=link.id, processingactivity_id=activity.id,
                                              purpose_id=link.purpose_id)
        for link in Activity.fields.through.objects.filter(processingactivity=activity):
            HistoricalFields.objects.create(history=history, id=link.id, processingactivity_id=activity.id,
                                            personaldatafield_id=link.personaldatafield_id)


class Migration(migrations.Migration):
    # After every migration that adds entries to the catalogue, so that the activities can use them.
    dependencies = [
        ("catalogue", "0009_processing_activity"),
        ("consents", "0003_catalogue_consent_evidence"),
        ("rights_requests", "0009_catalogue_access_package"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
