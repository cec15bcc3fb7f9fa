"""Seed the register of protection measures (clause 1.7.1) with the measures ShipEx has or plans.

Measures this back office itself implements are "in place", with the code or document an auditor
can check as their evidence. The others are "planned": their owners confirm the status and attach
the evidence before the compliance team marks them in place. Each seeded row gets its first
history row, so the register's history starts with the seed.
"""

import calendar

from django.db import migrations
from django.utils import timezone

REASON = "Seeded measures register (migration protection 0002)"

ACCESS, DESTRUCTION, MODIFICATION = "against_access", "against_destruction", "against_modification"
BLOCKING, COPYING, DISTRIBUTION = "against_blocking", "against_copying", "against_distribution"

MEASURES = [
    # title, kind, owner, status, evidence, review every (months), protections, description
    ("Role-based access in the back office", "technical", "Compliance team", "in_place",
     "Roles kept in code: shipex_privacy/accounts/roles.py; permission matrix: tests/accounts/test_roles.py",
     6, (ACCESS, MODIFICATION, COPYING, DISTRIBUTION),
     "Three staff roles (compliance officer, support agent, auditor), each with only the permissions its "
     "work needs. They are set from code after every deploy, so a permission granted by hand does not last."),
    ("Append-only, tamper-evident change history", "technical", "Back-office engineering", "in_place",
     "docs/audit.md; manage.py verify_audit", 12, (MODIFICATION, DESTRUCTION),
     "Every change to personal data or a compliance decision is kept with who, when, from where and why. "
     "The database refuses to change or delete history; verify_audit names any row changed, removed or "
     "inserted behind the application's back."),
    ("Read-access log", "technical", "Back-office engineering", "in_place",
     "Access log in the admin (audit.AccessEvent); README, “Audit: access log and tamper evidence”",
     12, (ACCESS, COPYING, DISTRIBUTION),
     "Opening a subject or its history, searching subjects, exports and reveals of masked identifiers are "
     "logged: who, when, what and from where. Search terms are kept only as keyed hashes."),
    ("Masked identifiers, revealed only with a stated reason", "technical", "Back-office engineering", "in_place",
     "shipex_privacy/core/masking.py; reveals with their reasons in the access log", 12, (ACCESS, COPYING),
     "PINFL, passport, full phone and e-mail are masked for staff who do not need them in full; a reveal "
     "asks for a reason and is logged."),
    ("Four-eyes approval of disclosures", "organisational", "Compliance team", "in_place",
     "Disclosure workflow (shipex_privacy/disclosures); database constraint disclosure_four_eyes",
     12, (DISTRIBUTION, COPYING),
     "Personal data goes to a third party only on a ground of 1.4.3, checked, and approved by a second "
     "compliance officer; a sent disclosure is frozen."),
    ("Login protection for staff accounts", "technical", "Back-office engineering", "planned", "",
     12, (ACCESS,),
     "Lock-out after repeated wrong passwords, two-factor sign-in (TOTP) for every staff account, idle "
     "sessions expire. Mark in place with its evidence once it is deployed."),
    ("Encryption of backups", "technical", "IT infrastructure", "planned", "",
     12, (ACCESS, COPYING, DISTRIBUTION),
     "Database backups encrypted at rest and in transit, with the keys kept apart from the backups. "
     "The owner confirms the status and attaches the evidence."),
    ("Staff training on personal data", "organisational", "Compliance team and HR", "planned", "",
     12, (ACCESS, DESTRUCTION, MODIFICATION, COPYING, DISTRIBUTION),
     "Every staff member who handles personal data is trained on the privacy policy and these rules when "
     "they start and once a year, and signs that they have been. The owner attaches the attendance records."),
    ("Quarterly review of staff access", "organisational", "Compliance team", "planned", "",
     3, (ACCESS,),
     "Every quarter the compliance team checks who holds which role in the back office and in the systems "
     "of the catalogue, and removes access nobody needs any more (leavers, changed jobs)."),
]


def add_months(day, months):
    # A frozen copy of protection.models.add_months: migrations must not change when the app does.
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def first_history_row(apps, obj, when):
    """Write the creation history row a save through the ORM would have written."""
    History = apps.get_model("protection", f"Historical{obj._meta.object_name}")
    values = {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}
    return History.objects.create(
        history_date=when, history_type="+", history_change_reason=REASON, **values
    )


def seed(apps, schema_editor):
    Measure = apps.get_model("protection", "Measure")
    now = timezone.now()
    today = timezone.localdate(now)
    for title, kind, owner, status, evidence, months, protections, description in MEASURES:
        measure = Measure.objects.create(
            title=title, kind=kind, owner=owner, status=status, evidence=evidence, description=description,
            last_reviewed_on=today, review_every_months=months, next_review_on=add_months(today, months),
            **dict.fromkeys(protections, True),
        )
        first_history_row(apps, measure, now)


class Migration(migrations.Migration):
    dependencies = [("protection", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
