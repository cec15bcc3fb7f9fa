"""verify_audit's check of the consent state against the consent ledger (docs/audit.md).

``Consent`` keeps the current state beside the ledger for fast queries; the ledger
(``ConsentEvent``, append-only and digested) is the evidence. So the state must always say what
the ledger's latest event says: a consent turned back to granted behind the application's back,
or a state with no event at all, is named by table and id and makes verify_audit fail. The consent
report's figures (figures.py), derived from the ledger, are held to it the same way.
"""

from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext_lazy as _

from shipex_privacy.audit.tamper import Finding, register_record_check

from .figures import figures_drift
from .models import Consent, ConsentEvent, ConsentFigure

NO_EVENT = _("consent state without any event in the consent ledger")
DISAGREES = _("consent state disagrees with the consent ledger's latest event (%(event)s): %(columns)s")


def expected_state(kind: str, occurred_at, expires_at, channel) -> dict:
    """What a consent's state columns must hold after its latest ledger event."""
    if kind == ConsentEvent.Kind.GRANT:
        return {"state": Consent.State.GRANTED, "withdrawn_at": None, "granted_at": occurred_at,
                "expires_at": expires_at, "channel": channel}
    if kind == ConsentEvent.Kind.LAPSE:
        # A lapse is recorded at the moment the latest grant's term ended.
        return {"state": Consent.State.LAPSED, "withdrawn_at": None, "expires_at": occurred_at}
    return {"state": Consent.State.WITHDRAWN, "withdrawn_at": occurred_at}


@register_record_check
def consent_state_matches_ledger(using: str) -> list[Finding]:
    latest = ConsentEvent.objects.using(using).filter(consent=OuterRef("pk")).order_by("-occurred_at", "-id")
    consents = Consent.objects.using(using).annotate(
        last_kind=Subquery(latest.values("kind")[:1]),
        last_occurred_at=Subquery(latest.values("occurred_at")[:1]),
        last_expires_at=Subquery(latest.values("expires_at")[:1]),
        last_channel=Subquery(latest.values("channel")[:1]),
    ).order_by("pk")
    findings = []
    table = Consent._meta.db_table
    for consent in consents.iterator(chunk_size=2000):
        if consent.last_kind is None:
            findings.append(Finding(table, consent.pk, str(NO_EVENT)))
            continue
        expected = expected_state(consent.last_kind, consent.last_occurred_at, consent.last_expires_at,
                                  consent.last_channel)
        wrong = [column for column, value in expected.items() if getattr(consent, column) != value]
        if wrong:
            findings.append(Finding(table, consent.pk, str(DISAGREES % {
                "event": consent.last_kind, "columns": ", ".join(wrong)})))
    return findings


FIGURE_DRIFT = _("consent report figure of %(day)s disagrees with the consent ledger: %(stored)s stored, "
                 "%(expected)s from the ledger")


@register_record_check
def consent_figures_match_ledger(using: str) -> list[Finding]:
    """The consent report's figures (figures.py) are derived from the ledger: any drift is a finding,
    named by the purpose's id and the day (the fix: rebuild them with ``figures.fill_from_ledger``)."""
    return [Finding(ConsentFigure._meta.db_table, purpose_id, str(FIGURE_DRIFT % {
        "day": f"{day:%d.%m.%Y}", "stored": stored, "expected": expected}))
        for purpose_id, day, expected, stored in figures_drift(using)]
