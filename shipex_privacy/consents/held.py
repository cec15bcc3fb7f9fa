"""This app's models in the held-model registry (retention/erasing.py). Registered from ``ready()``."""

from django.db.models import Q
from django.db.models.functions import Coalesce

from shipex_privacy.catalogue.models import RetentionRule
from shipex_privacy.retention.erasing import STOPPED_STATUSES, Clock, HeldModel, account_closed, register_held_model

ClockStart = RetentionRule.ClockStart

register_held_model(HeldModel(
    "consents.PolicyAcceptance", "subject",
    clocks={
        ClockStart.COLLECTED: Clock("accepted_at"),
        ClockStart.ACCOUNT_CLOSED: account_closed("subject__"),
        # Using the service is the acceptance (1.1); it is withdrawn when the subject stops
        # using it: logged out (1.5.2), closed or anonymised.
        ClockStart.CONSENT_WITHDRAWN: Clock("subject__status_changed_at", Q(subject__status__in=STOPPED_STATUSES)),
    },
))
register_held_model(HeldModel(
    "consents.ConsentEvent", "consent__subject",
    clocks={ClockStart.COLLECTED: Clock("recorded_at"),
            # A consent ends when it is withdrawn or when its term runs out (it lapses): either way
            # its evidence counts from that moment.
            ClockStart.CONSENT_WITHDRAWN: Clock(Coalesce("consent__withdrawn_at", "consent__expires_at"),
                                                Q(consent__state__in=("withdrawn", "lapsed")))},
))
register_held_model(HeldModel(
    "consents.CookieConsentEvent", "subject",
    clocks={ClockStart.COLLECTED: Clock("recorded_at")},
))
# The consent's current state, kept beside its ledger: found by its subject, no clock of its own.
register_held_model(HeldModel("consents.Consent", "subject"))
