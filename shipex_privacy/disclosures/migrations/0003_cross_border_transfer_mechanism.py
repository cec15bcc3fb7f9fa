"""A recipient's cross-border transfer mechanism becomes a choice with its reference and date.

The free text of ``cross_border_mechanism`` stays, as ``transfer_reference``; the mechanism it names
is read from its words (catalogue 0008's ``classify``) and recorded with a history row, before the
constraint "abroad ⇒ mechanism set" moves onto the new column. A text that names no single
mechanism stops the migration with the recipient's name, changing nothing: edit that text and
migrate again. Source: ZRU-547 art. 15 as amended by ZRU-1125 of 26.03.2026 (to be confirmed by
counsel; docs/cross-border.md).
"""

import importlib

from django.db import migrations, models
from django.utils import timezone

REASON = "Cross-border transfer mechanism read from the recorded text (migration disclosures 0003, issue 14)"

CHOICES = [
    ("adequate_country", "The country ensures adequate protection"),
    ("standard_clauses", "Approved standard contractual clauses"),
    ("corporate_rules", "Approved binding corporate rules"),
    ("international_standard", "Approved international standard"),
    ("subject_consent", "The subject's consent to the cross-border transfer"),
]
MECHANISM = dict(
    blank=True, choices=CHOICES, max_length=30, verbose_name="cross-border transfer mechanism",
    help_text="Required when it is outside Uzbekistan (ZRU-547 art. 15).",
)
REFERENCE = dict(
    blank=True, max_length=300, verbose_name="reference of the transfer mechanism",
    help_text="The agreement, decision, certificate or consent text the mechanism rests on.",
)


def catalogue_0008():
    return importlib.import_module("shipex_privacy.catalogue.migrations.0008_cross_border_localisation_register")


def record_recipient_mechanisms(apps, schema_editor):
    Recipient = apps.get_model("disclosures", "Recipient")
    History = apps.get_model("disclosures", "HistoricalRecipient")
    HistoricalServices = apps.get_model("disclosures", "HistoricalRecipient_services")
    helpers = catalogue_0008()
    now = timezone.now()
    plans, unknown = [], []
    for recipient in Recipient.objects.exclude(country="UZ").filter(transfer_mechanism="").order_by("pk"):
        mechanism, day = helpers.classify(recipient.transfer_reference)
        (plans if mechanism else unknown).append((recipient, mechanism, day))
    if unknown:
        raise helpers.unclassified_error(
            "Recipients", [f"{r.legal_name} ({r.country}): “{r.transfer_reference}”" for r, _m, _d in unknown],
            "cross-border transfer mechanism text")
    for recipient, mechanism, day in plans:
        recipient.transfer_mechanism, recipient.transfer_date = mechanism, day
        recipient.save(update_fields=["transfer_mechanism", "transfer_date"])
        values = {field.attname: getattr(recipient, field.attname) for field in recipient._meta.concrete_fields}
        history = History.objects.create(history_date=now, history_type="~", history_change_reason=REASON, **values)
        # The history row carries the services as they are, as a save through the ORM records them.
        for link in Recipient.services.through.objects.filter(recipient=recipient):
            HistoricalServices.objects.create(history=history, id=link.id, recipient_id=recipient.id,
                                              service_id=link.service_id)


class Migration(migrations.Migration):

    dependencies = [
        ("disclosures", "0002_tin_ascii_digits"),
        ("catalogue", "0008_cross_border_localisation_register"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="recipient", name="recipient_abroad_needs_mechanism"),
        migrations.RenameField(model_name="recipient", old_name="cross_border_mechanism",
                               new_name="transfer_reference"),
        migrations.RenameField(model_name="historicalrecipient", old_name="cross_border_mechanism",
                               new_name="transfer_reference"),
        migrations.AlterField(model_name="recipient", name="transfer_reference", field=models.CharField(**REFERENCE)),
        migrations.AlterField(model_name="historicalrecipient", name="transfer_reference",
                              field=models.CharField(**REFERENCE)),
        migrations.AddField(model_name="recipient", name="transfer_mechanism", field=models.CharField(**MECHANISM)),
        migrations.AddField(model_name="historicalrecipient", name="transfer_mechanism",
                            field=models.CharField(**MECHANISM)),
        migrations.AddField(model_name="recipient", name="transfer_date",
                            field=models.DateField(blank=True, null=True, verbose_name="date of the transfer mechanism")),
        migrations.AddField(model_name="historicalrecipient", name="transfer_date",
                            field=models.DateField(blank=True, null=True, verbose_name="date of the transfer mechanism")),
        migrations.RunPython(record_recipient_mechanisms, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="recipient",
            constraint=models.CheckConstraint(
                condition=models.Q(("country", "UZ"), models.Q(("transfer_mechanism", ""), _negated=True),
                                   _connector="OR"),
                name="recipient_abroad_needs_mechanism",
                violation_error_message="A recipient outside Uzbekistan needs a cross-border transfer mechanism.",
            ),
        ),
    ]
