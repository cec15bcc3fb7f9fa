"""This app's models in the held-model registry (retention/erasing.py). Registered from ``ready()``."""

from django.db.models import Q

from shipex_privacy.catalogue.models import RetentionRule
from shipex_privacy.retention.erasing import (
    ERASED_TEXT,
    Clock,
    HeldModel,
    Replacement,
    account_closed,
    register_held_model,
)

ClockStart = RetentionRule.ClockStart

register_held_model(HeldModel(
    "rights_requests.SubjectRequest", "subject",
    # A request's records count from the day it closed: until then it is still being answered,
    # and afterwards it is the evidence of how ShipEx answered.
    clocks={ClockStart.COLLECTED: Clock("closed_at", Q(status__in=("done", "refused")))},
    replacements={
        # A closed request must keep a response (database rule); the text itself goes.
        "response_text": Replacement(lambda request: ERASED_TEXT, lambda: Q(response_text=ERASED_TEXT)),
    },
))
# The zip of an access package is a copy of the subject's data; its row (SHA-256, size) stays as
# proof of what was sent, while the file goes with the subject's data or at the end of its rule.
register_held_model(HeldModel(
    "rights_requests.AccessPackage", "request__subject",
    clocks={ClockStart.COLLECTED: Clock("built_at"), ClockStart.ACCOUNT_CLOSED: account_closed("request__subject__")},
))
