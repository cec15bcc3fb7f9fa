"""Cross-border transfer, localisation and the state register (issue 14, items 2–4).

A system outside Uzbekistan names its transfer mechanism (ZRU-547 art. 15 as amended by ZRU-1125
of 26.03.2026), with its reference and date; the sensitivity "genetic" joins "biometric" as data
that must stay in Uzbekistan (art. 27-1, 2026); a system records its state register number and
date (art. 20; Cabinet of Ministers resolution no. 71 of 08.02.2020). The legal readings come from
law firms' public summaries and are marked "to be confirmed by counsel" (docs/cross-border.md).

Systems abroad get their mechanism before the constraint that asks for it: the seeded counter
system's from the seed below; any other from the words of its description (``classify``); one
whose description names no mechanism stops the migration with its name, changing nothing.
"""

import re
from datetime import date

from django.db import migrations, models
from django.utils import timezone

REASON = "Cross-border transfer mechanism recorded (migration catalogue 0008, issue 14)"
COUNSEL = "to be confirmed by counsel"

# The seeded system abroad (catalogue 0002): counters run by their provider in Russia, used with the
# visitor's consent (policy 1.6.4; consents' cookie register). Source: ZRU-547 art. 15 as amended by
# ZRU-1125 of 26.03.2026, read from law firms' public summaries.
SEEDED = {
    "web-analytics": {
        "transfer_mechanism": "subject_consent",
        "transfer_reference": (
            "Visitor's consent to analytics counters, cookie banner (policy 1.6.4); ZRU-547 art. 15 as amended "
            f"by ZRU-1125 of 26.03.2026, from law firms' public summaries — {COUNSEL}"
        ),
        "transfer_date": date(2026, 3, 26),
    },
}

# Words (en, ru, uz) that name each mechanism in free text written before the choice existed.
KEYWORDS = [
    ("subject_consent", r"consent|согласи|rozilig"),
    ("standard_clauses", r"\bscc\b|standard contractual|contractual clauses|standard clauses|типов\w* (договор|оговорк|услови)"
                         r"|стандартн\w* (договор|оговорк|услови)|namunaviy shart"),
    ("corporate_rules", r"\bbcr\b|corporate rules|корпоративн\w* правил|korporativ qoida"),
    ("international_standard", r"\biso\b|international standard|международн\w* стандарт|xalqaro standart"),
    ("adequate_country", r"adequa|адекватн|adekvat|yetarli himoya"),
]
DATE = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4})\b")


def classify(text: str) -> tuple[str, date | None]:
    """The one mechanism the text names (and a dd.mm.yyyy date in it), or "" when it names none or several."""
    found = {mechanism for mechanism, pattern in KEYWORDS if re.search(pattern, text, re.IGNORECASE)}
    mechanism = found.pop() if len(found) == 1 else ""
    day = None
    if match := DATE.search(text):
        try:
            day = date(int(match[3]), int(match[2]), int(match[1]))
        except ValueError:
            day = None
    return mechanism, day


def history_row(apps, model_name: str, obj, when, reason: str) -> None:
    """The "~" history row a save through the ORM would have written."""
    History = apps.get_model(obj._meta.app_label, f"Historical{model_name}")
    values = {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}
    History.objects.create(history_date=when, history_type="~", history_change_reason=reason, **values)


def unclassified_error(kind: str, names: list[str], where: str) -> RuntimeError:
    return RuntimeError(
        f"{kind} outside Uzbekistan whose {where} names no single cross-border transfer mechanism: "
        f"{'; '.join(names)}. Write the mechanism into the {where} (adequate country, standard contractual "
        "clauses, binding corporate rules, international standard or consent, with the document and its "
        "date as dd.mm.yyyy) and run migrate again; nothing was changed."
    )


def record_system_mechanisms(apps, schema_editor):
    System = apps.get_model("catalogue", "System")
    now = timezone.now()
    abroad = list(System.objects.exclude(country="UZ").filter(transfer_mechanism="").order_by("pk"))
    plans, unknown = [], []
    for system in abroad:
        values = SEEDED.get(system.code)
        if values is None:
            mechanism, day = classify(system.description)
            values = {"transfer_mechanism": mechanism, "transfer_reference": system.description[:300],
                      "transfer_date": day}
        (plans if values["transfer_mechanism"] else unknown).append((system, values))
    if unknown:
        raise unclassified_error("Systems", [f"{s.code} ({s.country})" for s, _v in unknown], "description")
    for system, values in plans:
        for name, value in values.items():
            setattr(system, name, value)
        system.save(update_fields=list(values))
        history_row(apps, "System", system, now, REASON)


def seeded_values(system_code: str) -> dict:
    """For the tests' replay of catalogue 0002 with today's models (tests/conftest.py)."""
    return dict(SEEDED.get(system_code, {}))


class Migration(migrations.Migration):

    dependencies = [
        ('catalogue', '0007_clause_ascii_digits'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalsystem',
            name='registered_on',
            field=models.DateField(blank=True, null=True, verbose_name='registered on'),
        ),
        migrations.AddField(
            model_name='historicalsystem',
            name='registration_number',
            field=models.CharField(blank=True, help_text='Number under which the database is entered in the state register of personal-data databases (art. 20).', max_length=50, verbose_name='state register number'),
        ),
        migrations.AddField(
            model_name='historicalsystem',
            name='transfer_date',
            field=models.DateField(blank=True, null=True, verbose_name='date of the transfer mechanism'),
        ),
        migrations.AddField(
            model_name='historicalsystem',
            name='transfer_mechanism',
            field=models.CharField(blank=True, choices=[('adequate_country', 'The country ensures adequate protection'), ('standard_clauses', 'Approved standard contractual clauses'), ('corporate_rules', 'Approved binding corporate rules'), ('international_standard', 'Approved international standard'), ('subject_consent', "The subject's consent to the cross-border transfer")], help_text='Required when it is outside Uzbekistan (ZRU-547 art. 15).', max_length=30, verbose_name='cross-border transfer mechanism'),
        ),
        migrations.AddField(
            model_name='historicalsystem',
            name='transfer_reference',
            field=models.CharField(blank=True, help_text='The agreement, decision, certificate or consent text the mechanism rests on.', max_length=300, verbose_name='reference of the transfer mechanism'),
        ),
        migrations.AddField(
            model_name='system',
            name='registered_on',
            field=models.DateField(blank=True, null=True, verbose_name='registered on'),
        ),
        migrations.AddField(
            model_name='system',
            name='registration_number',
            field=models.CharField(blank=True, help_text='Number under which the database is entered in the state register of personal-data databases (art. 20).', max_length=50, verbose_name='state register number'),
        ),
        migrations.AddField(
            model_name='system',
            name='transfer_date',
            field=models.DateField(blank=True, null=True, verbose_name='date of the transfer mechanism'),
        ),
        migrations.AddField(
            model_name='system',
            name='transfer_mechanism',
            field=models.CharField(blank=True, choices=[('adequate_country', 'The country ensures adequate protection'), ('standard_clauses', 'Approved standard contractual clauses'), ('corporate_rules', 'Approved binding corporate rules'), ('international_standard', 'Approved international standard'), ('subject_consent', "The subject's consent to the cross-border transfer")], help_text='Required when it is outside Uzbekistan (ZRU-547 art. 15).', max_length=30, verbose_name='cross-border transfer mechanism'),
        ),
        migrations.AddField(
            model_name='system',
            name='transfer_reference',
            field=models.CharField(blank=True, help_text='The agreement, decision, certificate or consent text the mechanism rests on.', max_length=300, verbose_name='reference of the transfer mechanism'),
        ),
        migrations.AlterField(
            model_name='historicalpersonaldatafield',
            name='sensitivity',
            field=models.CharField(choices=[('general', 'General'), ('special', 'Special'), ('biometric', 'Biometric'), ('genetic', 'Genetic')], default='general', max_length=10, verbose_name='sensitivity'),
        ),
        migrations.AlterField(
            model_name='personaldatafield',
            name='sensitivity',
            field=models.CharField(choices=[('general', 'General'), ('special', 'Special'), ('biometric', 'Biometric'), ('genetic', 'Genetic')], default='general', max_length=10, verbose_name='sensitivity'),
        ),
        migrations.RunPython(record_system_mechanisms, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='system',
            constraint=models.CheckConstraint(condition=models.Q(('country', 'UZ'), models.Q(('transfer_mechanism', ''), _negated=True), _connector='OR'), name='system_abroad_needs_mechanism', violation_error_message='A system outside Uzbekistan needs a cross-border transfer mechanism.'),
        ),
        migrations.AddConstraint(
            model_name='system',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('registered_on__isnull', True), ('registration_number', '')), models.Q(models.Q(('registration_number', ''), _negated=True), ('registered_on__isnull', False)), _connector='OR'), name='system_registration_number_with_date', violation_error_message='A state register number goes with the date of registration, and the date with the number.'),
        ),
    ]
