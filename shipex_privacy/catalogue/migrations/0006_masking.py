"""The catalogue says how each bound value is masked: one rule for every page, diff and export."""

from django.db import migrations, models
from django.utils import timezone

MASKING_CHOICES = [
    ("", "Shown in full"), ("phone", "Phone: +998 90 *** ** 67"), ("email", "E-mail: a***@mail.uz"),
    ("pinfl", "PINFL: 3***********23"), ("passport", "Passport: AA*****67"), ("text", "Text: first letter only, N***"),
    ("contact", "A contact as typed: masked as an e-mail, a phone or text"),
]
MASKING_HELP = ("How staff who only read the bound field see it, on every page and export; they see it in full "
                "only after giving a reason, which the access log keeps.")

# Identifiers and what points at a person's home or device. Names stay readable: staff find and
# tell subjects apart by name, which every page shows as the subject's title.
MASKING = {
    "subjects.DataSubject.phone": "phone",
    "subjects.DataSubject.email": "email",
    "subjects.DataSubject.pinfl": "pinfl",
    "subjects.DataSubject.passport": "passport",
    "subjects.Address.street": "text",
    "subjects.Address.landmark": "text",
    "consents.PolicyAcceptance.ip_address": "text",
    "consents.PolicyAcceptance.user_agent": "text",
    "consents.ConsentEvent.ip_address": "text",
    "consents.ConsentEvent.user_agent": "text",
    "consents.CookieConsentEvent.ip_address": "text",
    "consents.CookieConsentEvent.user_agent": "text",
    "consents.CookieConsentEvent.visitor_id": "text",
    "rights_requests.SubjectRequest.requester_contact": "contact",
}


REASON = "The catalogue says how each bound value is masked (issue 10)"


def seed(apps, schema_editor):
    """Set the masking of the entries above, each with the history row a save through the ORM writes
    (with its purposes, which the records of processing as of a date read from history)."""
    PersonalDataField = apps.get_model("catalogue", "PersonalDataField")
    History = apps.get_model("catalogue", "HistoricalPersonalDataField")
    HistoricalPurposes = apps.get_model("catalogue", "HistoricalPersonalDataField_purposes")
    now = timezone.now()
    for entry in PersonalDataField.objects.filter(binding__in=MASKING).order_by("pk"):
        entry.masking = MASKING[entry.binding]
        entry.save(update_fields=["masking"])
        values = {field.attname: getattr(entry, field.attname) for field in entry._meta.concrete_fields}
        history = History.objects.create(history_date=now, history_type="~", history_change_reason=REASON, **values)
        for link in PersonalDataField.purposes.through.objects.filter(personaldatafield=entry):
            HistoricalPurposes.objects.create(
                history=history, id=link.id, personaldatafield_id=entry.id, purpose_id=link.purpose_id
            )


class Migration(migrations.Migration):
    # The entries for consent evidence and request records are seeded by those apps' migrations.
    dependencies = [
        ("catalogue", "0005_catalogue_service_use"),
        ("consents", "0003_catalogue_consent_evidence"),
        ("rights_requests", "0003_catalogue_request_records"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalpersonaldatafield", name="masking",
            field=models.CharField(blank=True, choices=MASKING_CHOICES, help_text=MASKING_HELP, max_length=10,
                                   verbose_name="masked as"),
        ),
        migrations.AddField(
            model_name="personaldatafield", name="masking",
            field=models.CharField(blank=True, choices=MASKING_CHOICES, help_text=MASKING_HELP, max_length=10,
                                   verbose_name="masked as"),
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
