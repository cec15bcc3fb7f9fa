"""Seed the ShipEx services and the catalogue fields each needs (1.4.3.2), with first history rows."""

from django.db import migrations
from django.utils import timezone

REASON = "Seeded services (migration catalogue 0004)"

DELIVERY = (
    "identity.full_name", "contact.phone", "address.region", "address.city", "address.street", "address.landmark",
    "shipment.recipient_name", "shipment.recipient_phone", "shipment.delivery_address", "shipment.contents",
)
SERVICES = [
    ("domestic-delivery", "Oʻzbekiston boʻylab yetkazib berish", "Доставка по Узбекистану", "Delivery within Uzbekistan",
     DELIVERY),
    ("international-delivery", "Xalqaro yetkazib berish", "Международная доставка", "International delivery",
     (*DELIVERY, "shipment.customs_declaration", "document.passport", "document.pinfl")),
    ("cash-on-delivery", "Yetkazib berishda toʻlov", "Оплата при доставке", "Cash on delivery",
     (*DELIVERY, "payment.history")),
    ("sms-notifications", "SMS xabarnomalar", "SMS-уведомления", "SMS notifications",
     ("contact.phone", "account.preferred_language")),
]


def seed(apps, schema_editor):
    Service = apps.get_model("catalogue", "Service")
    PersonalDataField = apps.get_model("catalogue", "PersonalDataField")
    History = apps.get_model("catalogue", "HistoricalService")
    HistoricalNeeded = apps.get_model("catalogue", "HistoricalService_needed_fields")
    fields = {field.code: field for field in PersonalDataField.objects.all()}
    now = timezone.now()
    for code, uz, ru, en, needed in SERVICES:
        service = Service.objects.create(code=code, name_uz=uz, name_ru=ru, name_en=en)
        service.needed_fields.set([fields[name] for name in needed])
        history = History.objects.create(
            id=service.id, code=code, name_uz=uz, name_ru=ru, name_en=en,
            history_date=now, history_type="+", history_change_reason=REASON,
        )
        for link in Service.needed_fields.through.objects.filter(service=service):
            HistoricalNeeded.objects.create(
                history=history, id=link.id, service_id=service.id, personaldatafield_id=link.personaldatafield_id
            )


class Migration(migrations.Migration):
    dependencies = [("catalogue", "0003_service")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
