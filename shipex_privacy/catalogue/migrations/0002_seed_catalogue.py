"""Seed the data catalogue of a delivery company: purposes 1.3.2.1–1.3.2.6, ShipEx systems,
retention rules and the personal data ShipEx holds. Each seeded row gets its first history row,
so the catalogue's history starts with the seed. Legal references marked "to be confirmed by
counsel" are placeholders the compliance team must check before relying on them.
"""

import importlib

from django.db import migrations
from django.utils import timezone

REASON = "Seeded catalogue (migration catalogue 0002)"

PURPOSES = [
    # clause, basis, needs consent, depersonalised only, uz, ru, en
    ("1.3.2.1", "contract", False, False,
     "Xizmatlar, kelishuvlar va shartnomalar doirasida tomonni identifikatsiya qilish",
     "Идентификация стороны в рамках сервисов, соглашений и договоров",
     "Identifying the party to the Service, agreements and contracts"),
    ("1.3.2.2", "contract", False, False,
     "Foydalanuvchiga mos Xizmatlarni taqdim etish, kelishuv va shartnomalarni bajarish",
     "Предоставление пользователю подходящих сервисов, исполнение соглашений и договоров",
     "Providing suitable Services, performing agreements and contracts"),
    ("1.3.2.3", "contract", False, False,
     "Foydalanuvchi bilan aloqa: bildirishnomalar, soʻrovlar, maʼlumotlar va murojaatlarni koʻrib chiqish",
     "Связь с пользователем: уведомления, запросы, информация и обработка обращений",
     "Communicating with the user: notifications, requests, information and handling applications"),
    ("1.3.2.4", "policy_acceptance", False, False,
     "Xizmatlar sifati va qulayligini yaxshilash, yangi Xizmatlarni ishlab chiqish",
     "Улучшение качества и удобства сервисов, разработка новых сервисов",
     "Improving the quality and usability of the Services, developing new ones"),
    ("1.3.2.5", "consent", True, False,
     "Foydalanuvchiga mos reklama materiallarini tayyorlash (maqsadli reklama)",
     "Подготовка рекламных материалов для пользователя (таргетированная реклама)",
     "Preparing advertising suited to the user (targeted advertising)"),
    ("1.3.2.6", "depersonalised", False, True,
     "Shaxsga aloqador boʻlmagan maʼlumotlar asosida statistik va boshqa tadqiqotlar",
     "Статистические и иные исследования на основе обезличенных данных",
     "Statistical and other research on depersonalised data"),
]

SYSTEMS = [
    # code, name, owner, country, description
    ("shipex-app", "ShipEx app and accounts", "Mobile and accounts team", "UZ",
     "Mobile app and the account service behind it: registration, profile, “Shaxsiy” section."),
    ("shipex-web", "shipex.uz website", "Web team", "UZ", "Public website and web cabinet."),
    ("tms", "Transport management system", "Logistics IT", "UZ",
     "Shipments, routes, couriers and proof of delivery."),
    ("customs", "Customs brokerage", "Customs brokerage department", "UZ",
     "Customs declarations for international shipments."),
    ("billing", "Billing and payments", "Finance IT", "UZ", "Invoices, payments and accounting records."),
    ("crm", "Call-centre CRM", "Customer support", "UZ", "Calls, chats and customer requests."),
    ("web-analytics", "Web analytics counters", "Marketing analytics", "RU",
     "Counter data (1.6.4) processed by the counter provider outside Uzbekistan."),
]

RETENTION_RULES = [
    # code, period, unit, clock, end action, statutory, legal reference, uz, ru, en
    ("account-3y", 3, "years", "account_closed", "delete", False, "",
     "Akkaunt yopilgandan keyin 3 yil", "3 года после закрытия аккаунта", "3 years after the account is closed"),
    ("shipment-3y", 3, "years", "shipment_delivered", "anonymise", False, "",
     "Joʻnatma yetkazilgandan keyin 3 yil", "3 года после доставки отправления",
     "3 years after the shipment is delivered"),
    ("customs-5y", 5, "years", "shipment_delivered", "delete", True,
     "Customs Code of the Republic of Uzbekistan: keeping customs declaration documents "
     "(article to be confirmed by counsel)",
     "Bojxona hujjatlari: 5 yil", "Таможенные документы: 5 лет", "Customs records: 5 years"),
    ("accounting-5y", 5, "years", "collected", "delete", True,
     "Law of the Republic of Uzbekistan “On accounting”: keeping primary accounting documents "
     "(article to be confirmed by counsel)",
     "Buxgalteriya hujjatlari: 5 yil", "Бухгалтерские документы: 5 лет", "Accounting records: 5 years"),
    ("technical-1y", 1, "years", "collected", "delete", False, "",
     "Texnik maʼlumotlar: 1 yil", "Технические данные: 1 год", "Technical data: 1 year"),
    ("cookie-13m", 13, "months", "collected", "delete", False, "",
     "Cookie maʼlumotlari: 13 oy", "Данные cookie: 13 месяцев", "Cookie data: 13 months"),
    ("biometric-30d", 30, "days", "collected", "delete", False, "",
     "Shaxsni tasdiqlash surati: 30 kun", "Фото для подтверждения личности: 30 дней",
     "Identity-check photo: 30 days"),
]

IDS = ("1.3.2.1",)
SERVE = ("1.3.2.2",)
CONTACT = ("1.3.2.3",)
IMPROVE = ("1.3.2.4",)
ADS = ("1.3.2.5",)
STATS = ("1.3.2.6",)

FIELDS = [
    # code, category, requirement, method, sensitivity, identifies alone, purposes, retention, system,
    # country, binding, uz, ru, en
    ("account.account_id", "account", "mandatory", "1.2.1.3", "general", True, IDS + SERVE + CONTACT,
     "account-3y", "shipex-app", "UZ", "subjects.DataSubject.account_id",
     "Akkaunt raqami", "Номер аккаунта", "Account number"),
    ("account.registered_at", "account", "mandatory", "1.2.1.2", "general", False, SERVE,
     "account-3y", "shipex-app", "UZ", "subjects.DataSubject.registered_at",
     "Roʻyxatdan oʻtgan sana", "Дата регистрации", "Registration date"),
    ("account.preferred_language", "account", "optional", "1.2.1.1", "general", False, CONTACT,
     "account-3y", "shipex-app", "UZ", "subjects.DataSubject.preferred_language",
     "Afzal koʻrilgan til", "Предпочитаемый язык", "Preferred language"),
    ("identity.full_name", "identity", "mandatory", "1.2.1.1", "general", False, IDS + SERVE + CONTACT,
     "account-3y", "shipex-app", "UZ", "subjects.DataSubject.full_name",
     "Familiya, ism, otasining ismi", "Фамилия, имя, отчество", "Full name"),
    ("identity.birth_date", "identity", "optional", "1.2.1.1", "general", False, IDS,
     "account-3y", "shipex-app", "UZ", "subjects.DataSubject.birth_date",
     "Tugʻilgan sana", "Дата рождения", "Date of birth"),
    ("contact.phone", "contact", "mandatory", "1.2.1.1", "general", True, IDS + SERVE + CONTACT,
     "account-3y", "shipex-app", "UZ", "subjects.DataSubject.phone",
     "Telefon raqami", "Номер телефона", "Phone number"),
    ("contact.email", "contact", "optional", "1.2.1.1", "general", True, CONTACT + ADS,
     "account-3y", "shipex-app", "UZ", "subjects.DataSubject.email",
     "Elektron pochta", "Электронная почта", "E-mail address"),
    ("document.pinfl", "document", "optional", "1.2.1.1", "general", True, IDS + SERVE,
     "customs-5y", "customs", "UZ", "subjects.DataSubject.pinfl",
     "JShShIR", "ПИНФЛ", "PINFL (personal identification number)"),
    ("document.passport", "document", "optional", "1.2.1.1", "general", True, IDS + SERVE,
     "customs-5y", "customs", "UZ", "subjects.DataSubject.passport",
     "Pasport seriyasi va raqami", "Серия и номер паспорта", "Passport series and number"),
    ("document.face_photo", "document", "optional", "1.2.1.1", "biometric", True, IDS,
     "biometric-30d", "shipex-app", "UZ", "",
     "Shaxsni tasdiqlash uchun yuz surati", "Фото лица для подтверждения личности",
     "Face photo for identity checks at pick-up points"),
    ("address.region", "address", "mandatory", "1.2.1.1", "general", False, SERVE,
     "account-3y", "shipex-app", "UZ", "subjects.Address.region", "Viloyat", "Область", "Region"),
    ("address.city", "address", "mandatory", "1.2.1.1", "general", False, SERVE,
     "account-3y", "shipex-app", "UZ", "subjects.Address.city",
     "Shahar yoki tuman", "Город или район", "City or district"),
    ("address.street", "address", "mandatory", "1.2.1.1", "general", False, SERVE,
     "account-3y", "shipex-app", "UZ", "subjects.Address.street",
     "Koʻcha, uy, xonadon", "Улица, дом, квартира", "Street, house, apartment"),
    ("address.landmark", "address", "optional", "1.2.1.1", "general", False, SERVE,
     "account-3y", "shipex-app", "UZ", "subjects.Address.landmark", "Moʻljal", "Ориентир", "Landmark"),
    ("address.postal_code", "address", "optional", "1.2.1.1", "general", False, SERVE,
     "account-3y", "shipex-app", "UZ", "subjects.Address.postal_code",
     "Pochta indeksi", "Почтовый индекс", "Postal code"),
    ("technical.ip_address", "technical", "mandatory", "1.2.1.2", "general", False, SERVE + IMPROVE,
     "technical-1y", "shipex-web", "UZ", "", "IP manzil", "IP-адрес", "IP address"),
    ("technical.cookie_id", "technical", "mandatory", "1.2.1.2", "general", False, SERVE + IMPROVE + ADS,
     "cookie-13m", "shipex-web", "UZ", "",
     "Cookie fayllari maʼlumotlari", "Данные файлов cookie", "Cookie data"),
    ("technical.browser", "technical", "mandatory", "1.2.1.2", "general", False, SERVE + IMPROVE,
     "technical-1y", "shipex-web", "UZ", "",
     "Brauzer haqida maʼlumot", "Сведения о браузере", "Browser information"),
    ("technical.device", "technical", "mandatory", "1.2.1.2", "general", False, SERVE + IMPROVE,
     "technical-1y", "shipex-app", "UZ", "",
     "Qurilma xususiyatlari", "Характеристики устройства", "Device characteristics"),
    ("technical.operating_system", "technical", "mandatory", "1.2.1.2", "general", False, IMPROVE,
     "technical-1y", "shipex-app", "UZ", "",
     "Dasturiy taʼminot (operatsion tizim)", "Программное обеспечение (ОС)", "Software (operating system)"),
    ("technical.accessed_at", "technical", "mandatory", "1.2.1.2", "general", False, SERVE + IMPROVE,
     "technical-1y", "shipex-web", "UZ", "",
     "Kirish sanasi va vaqti", "Дата и время доступа", "Date and time of access"),
    ("technical.pages", "technical", "mandatory", "1.2.1.2", "general", False, IMPROVE + STATS,
     "technical-1y", "shipex-web", "UZ", "",
     "Soʻralgan sahifalar manzillari", "Адреса запрашиваемых страниц", "Addresses of requested pages"),
    ("technical.counter_data", "technical", "optional", "1.2.1.2", "general", False, IMPROVE + STATS + ADS,
     "cookie-13m", "web-analytics", "RU", "",
     "Hisoblagichlar maʼlumotlari", "Данные счётчиков", "Counter (analytics tag) data"),
    ("shipment.recipient_name", "shipment", "mandatory", "1.2.1.1", "general", False, SERVE + CONTACT,
     "shipment-3y", "tms", "UZ", "", "Qabul qiluvchining ismi", "Имя получателя", "Recipient's name"),
    ("shipment.recipient_phone", "shipment", "mandatory", "1.2.1.1", "general", True, SERVE + CONTACT,
     "shipment-3y", "tms", "UZ", "",
     "Qabul qiluvchining telefoni", "Телефон получателя", "Recipient's phone"),
    ("shipment.delivery_address", "shipment", "mandatory", "1.2.1.1", "general", False, SERVE,
     "shipment-3y", "tms", "UZ", "", "Yetkazib berish manzili", "Адрес доставки", "Delivery address"),
    ("shipment.contents", "shipment", "mandatory", "1.2.1.3", "general", False, SERVE,
     "shipment-3y", "tms", "UZ", "", "Joʻnatma tarkibi", "Содержимое отправления", "Shipment contents"),
    ("shipment.delivery_location", "shipment", "mandatory", "1.2.1.2", "general", False, SERVE,
     "shipment-3y", "tms", "UZ", "",
     "Topshirish joyi geolokatsiyasi", "Геолокация вручения", "Geolocation of handover"),
    ("shipment.customs_declaration", "shipment", "mandatory", "1.2.1.3", "general", False, IDS + SERVE,
     "customs-5y", "customs", "UZ", "",
     "Bojxona deklaratsiyasi", "Таможенная декларация", "Customs declaration"),
    ("payment.card_masked", "payment", "optional", "1.2.1.1", "general", False, SERVE,
     "accounting-5y", "billing", "UZ", "",
     "Bank kartasining niqoblangan raqami", "Маскированный номер карты", "Masked card number"),
    ("payment.history", "payment", "mandatory", "1.2.1.3", "general", False, SERVE,
     "accounting-5y", "billing", "UZ", "", "Toʻlovlar tarixi", "История платежей", "Payment history"),
    ("contact.call_records", "contact", "optional", "1.2.1.3", "general", False, CONTACT + IMPROVE,
     "technical-1y", "crm", "UZ", "",
     "Murojaatlar va qoʻngʻiroqlar yozuvlari", "Записи обращений и звонков", "Records of requests and calls"),
]


def first_history_row(apps, obj, when):
    """Write the creation history row a save through the ORM would have written."""
    History = apps.get_model("catalogue", f"Historical{obj._meta.object_name}")
    values = {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}
    return History.objects.create(
        history_date=when, history_type="+", history_change_reason=REASON, **values
    )


def seed(apps, schema_editor):
    Purpose = apps.get_model("catalogue", "Purpose")
    System = apps.get_model("catalogue", "System")
    RetentionRule = apps.get_model("catalogue", "RetentionRule")
    PersonalDataField = apps.get_model("catalogue", "PersonalDataField")
    HistoricalPurposes = apps.get_model("catalogue", "HistoricalPersonalDataField_purposes")
    now = timezone.now()

    purposes = {}
    for clause, basis, needs_consent, depersonalised, uz, ru, en in PURPOSES:
        purposes[clause] = Purpose.objects.create(
            clause=clause, legal_basis=basis, requires_consent=needs_consent,
            depersonalised_only=depersonalised, name_uz=uz, name_ru=ru, name_en=en,
        )
        first_history_row(apps, purposes[clause], now)

    systems = {}
    # The tests' replay with today's models: a system abroad has its transfer mechanism, which
    # catalogue 0008 records on every migrated database (the column does not exist here yet).
    replay = any(field.name == "transfer_mechanism" for field in System._meta.fields)
    later = importlib.import_module("shipex_privacy.catalogue.migrations.0008_cross_border_localisation_register")
    for code, name, owner, country, description in SYSTEMS:
        systems[code] = System.objects.create(
            code=code, name=name, owner=owner, country=country, description=description,
            **(later.seeded_values(code) if replay else {}),
        )
        first_history_row(apps, systems[code], now)

    rules = {}
    for code, period, unit, clock, action, statutory, reference, uz, ru, en in RETENTION_RULES:
        rules[code] = RetentionRule.objects.create(
            code=code, period=period, unit=unit, clock_starts=clock, end_action=action,
            is_statutory=statutory, legal_reference=reference, name_uz=uz, name_ru=ru, name_en=en,
        )
        first_history_row(apps, rules[code], now)

    for (code, category, requirement, method, sensitivity, identifies, clauses, rule, system, country,
         binding, uz, ru, en) in FIELDS:
        field = PersonalDataField.objects.create(
            code=code, category=category, requirement=requirement, collection_method=method,
            sensitivity=sensitivity, identifies_alone=identifies, retention_rule=rules[rule],
            system=systems[system], storage_country=country, binding=binding,
            name_uz=uz, name_ru=ru, name_en=en,
        )
        field.purposes.set([purposes[clause] for clause in clauses])
        history = first_history_row(apps, field, now)
        for link in PersonalDataField.purposes.through.objects.filter(personaldatafield=field):
            HistoricalPurposes.objects.create(
                history=history, id=link.id, personaldatafield_id=field.id, purpose_id=link.purpose_id
            )
    # The tests' ``catalogue`` fixture replays this seed with today's models after a live-server
    # flush: give the entries the masking that catalogue 0006 sets on every migrated database. (At
    # this migration's own place in the graph the column does not exist yet, and 0006 does it.)
    if any(field.name == "masking" for field in PersonalDataField._meta.fields):
        importlib.import_module("shipex_privacy.catalogue.migrations.0006_masking").seed(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("catalogue", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
