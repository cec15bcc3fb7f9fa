"""verify_audit's check of the registrations per hour against the subjects (docs/audit.md).

``RegistrationHour`` is derived from ``DataSubject.registered_at`` by triggers (registrations.py); a
count changed behind them, or a trigger dropped, would put wrong figures in the consent report. Any
hour whose stored count is not the subjects' is a finding, named by the hour (row id: its Unix time).
"""

from datetime import UTC

from django.db.models import Count
from django.db.models.functions import Trunc
from django.utils.translation import gettext_lazy as _

from shipex_privacy.audit.tamper import Finding, register_record_check

from .models import DataSubject, RegistrationHour

DRIFT = _("subjects registered in the hour from %(hour)s UTC: %(stored)s counted, %(expected)s in the subjects' table")


def registrations_drift(using: str = "default") -> list[tuple]:
    """(hour, from the subjects, stored) for every hour where the two disagree; empty when they agree."""
    expected = dict(DataSubject.objects.using(using).annotate(hour=Trunc("registered_at", "hour", tzinfo=UTC))
                    .values_list("hour").annotate(n=Count("pk")).order_by())
    stored = dict(RegistrationHour.objects.using(using).exclude(registered=0).values_list("hour", "registered"))
    return [(hour, expected.get(hour, 0), stored.get(hour, 0)) for hour in sorted(expected.keys() | stored.keys())
            if expected.get(hour, 0) != stored.get(hour, 0)]


@register_record_check
def registrations_match_subjects(using: str) -> list[Finding]:
    return [Finding(RegistrationHour._meta.db_table, int(hour.timestamp()), str(DRIFT % {
        "hour": f"{hour.astimezone(UTC):%d.%m.%Y %H:00}", "stored": stored, "expected": expected}))
        for hour, expected, stored in registrations_drift(using)]
