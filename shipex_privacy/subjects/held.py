"""This app's models in the held-model registry (retention/erasing.py): how their records are found,
timed and erased. Registered from ``SubjectsConfig.ready()``."""

from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from shipex_privacy.catalogue.models import RetentionRule
from shipex_privacy.retention.erasing import Clock, HeldModel, Replacement, account_closed, register_held_model

ClockStart = RetentionRule.ClockStart


def _registered_year(instance):
    # Only the year of registration is kept: enough for statistics, no longer a trace of a person.
    return timezone.localtime(instance.registered_at).replace(month=1, day=1, hour=0, minute=0, second=0,
                                                              microsecond=0)


register_held_model(HeldModel(
    "subjects.DataSubject", "pk",
    clocks={ClockStart.ACCOUNT_CLOSED: account_closed(""), ClockStart.COLLECTED: Clock("registered_at")},
    replacements={
        # Unique and never empty (database rule): a marker only this record can have.
        "account_id": Replacement(lambda subject: f"ERASED-{subject.pk}",
                                  lambda: Q(account_id=Concat(Value("ERASED-"), Cast("pk", models.CharField())))),
        # Compared part by part in local time: a truncated moment compared whole would be read
        # in UTC by one database and in local time by the other.
        "registered_at": Replacement(_registered_year, lambda: Q(
            registered_at__month=1, registered_at__day=1, registered_at__hour=0, registered_at__minute=0,
            registered_at__second=0)),
    },
))
register_held_model(HeldModel(
    "subjects.Address", "subject", deletable=True,
    clocks={ClockStart.ACCOUNT_CLOSED: account_closed("subject__"), ClockStart.COLLECTED: Clock("created_at")},
))
register_held_model(HeldModel(
    "subjects.ServiceUse", "subject", deletable=True,
    clocks={ClockStart.ACCOUNT_CLOSED: account_closed("subject__"),
            ClockStart.COLLECTED: Clock("started_on", is_date=True)},
))
