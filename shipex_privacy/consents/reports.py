"""Consent rate per purpose over time, read from the consent ledger.

The ledger's rule (consents/services.py, "The consent ledger's rules"; ``Consent.objects.in_force_at``)
is: a consent is in force at ``t`` when its latest event at or before ``t`` (ledger order: moment,
then id) is a grant whose term has not ended at ``t``. Read as intervals, each event opens one that
the consent's next event in ledger order closes, so the consent is in force at ``t`` exactly when a
grant's interval covers ``t`` (``occurred_at <= t < next event``) and ``t`` is before the grant's
term. At most one interval of a consent covers any moment, so counting the grant intervals that
cover a month-end counts the consents in force then: one pass over the ledger for every month-end
and purpose at once, however late the events were recorded.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db import connection
from django.utils import timezone

from shipex_privacy.catalogue.models import Purpose
from shipex_privacy.subjects import registrations

from . import figures
from .models import Consent, ConsentEvent


@dataclass(frozen=True)
class RatePoint:
    moment: datetime
    granted: int
    subjects: int

    @property
    def rate(self) -> float:
        return round(100 * self.granted / self.subjects, 1) if self.subjects else 0.0


def month_ends(months: int) -> list[datetime]:
    """The last moment of each of the past ``months`` months, oldest first, and now."""
    ends, first = [], timezone.localdate().replace(day=1)
    for _month in range(months):
        ends.append(timezone.make_aware(datetime.combine(first, time.min)) - timedelta(microseconds=1))
        first = (first - timedelta(days=1)).replace(day=1)
    return [*reversed(ends), timezone.now()]


def consent_rates(months: int = 12) -> list[tuple[Purpose, list[RatePoint]]]:
    """For each purpose that needs consent: subjects with a consent in force / subjects registered.

    Five queries whatever the number of subjects, consents, events or purposes; the consents in force are read
    from the figures the ledger writes keep (figures.py), not from the ledger itself.
    """
    moments = month_ends(months)
    purposes = list(Purpose.objects.filter(requires_consent=True))
    registered = registrations.registered_by(moments)
    in_force = figures.in_force_counts([purpose.pk for purpose in purposes], moments)
    return [
        (
            purpose,
            [
                RatePoint(moment, in_force.get(purpose.pk, [0] * len(moments))[index], registered[index])
                for index, moment in enumerate(moments)
            ],
        )
        for purpose in purposes
    ]


def consents_in_force_per_purpose(purpose_ids: list[int], moments: list[datetime]) -> dict[int, list[int]]:
    """Purpose id → how many of its consents to ShipEx itself were in force at each of ``moments``.

    The same count as ``Consent.objects.filter(purpose=…, recipient_kind="").in_force_at(moment)``
    for each moment (see the module's docstring), in one query that reads the ledger once. The
    database places each grant's interval among the moments (the first moment at or after its start,
    the first at or after the next event, the first at or after its term's end) and counts the
    intervals per placement; the few placements are spread over the moments here.
    """
    if not purpose_ids or not moments:
        return {}
    given, moments = moments, sorted(set(moments))
    adapt = connection.ops.adapt_datetimefield_value
    at = [adapt(moment) for moment in moments]

    def place(column: str) -> tuple[str, list]:
        """SQL for the index of the first moment at or after ``column`` (len(moments) when none, or NULL)."""
        whens = " ".join(f"WHEN {column} <= %s THEN {index}" for index in range(len(moments)))
        return f"CASE WHEN {column} IS NULL THEN {len(moments)} {whens} ELSE {len(moments)} END", at

    starts, starts_params = place("i.occurred_at")
    closes, closes_params = place("i.closed_at")
    ends, ends_params = place("i.expires_at")
    sql = (
        f"SELECT c.purpose_id, {starts}, {closes}, {ends}, COUNT(*)"  # noqa: S608 (names are the models', values parameters)
        " FROM (SELECT e.consent_id, e.kind, e.occurred_at, e.expires_at,"
        "              LEAD(e.occurred_at) OVER (PARTITION BY e.consent_id ORDER BY e.occurred_at, e.id) AS closed_at"
        f"       FROM {ConsentEvent._meta.db_table} e) i"
        f" JOIN {Consent._meta.db_table} c ON c.id = i.consent_id"
        " WHERE i.kind = %s AND i.occurred_at <= %s AND (i.closed_at IS NULL OR i.closed_at > %s)"
        " AND (i.expires_at IS NULL OR i.expires_at > %s)"
        f" AND c.recipient_kind = %s AND c.purpose_id IN ({', '.join(['%s'] * len(purpose_ids))})"
        " GROUP BY 1, 2, 3, 4"
    )
    params = [*starts_params, *closes_params, *ends_params, ConsentEvent.Kind.GRANT, at[-1], at[0], at[0], "",
              *purpose_ids]
    counts: dict[int, list[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for purpose_id, first, closed, ended, intervals in cursor.fetchall():
            in_force = counts.setdefault(purpose_id, [0] * len(moments))
            for index in range(first, min(closed, ended)):
                in_force[index] += intervals
    position = {moment: index for index, moment in enumerate(moments)}
    return {purpose_id: [in_force[position[moment]] for moment in given] for purpose_id, in_force in counts.items()}


def svg_points(points: list[RatePoint], width: int = 600, height: int = 160) -> str:
    """SVG polyline coordinates for rates of 0–100 %, left to right."""
    step = width / max(len(points) - 1, 1)
    return " ".join(
        f"{index * step:.1f},{height - point.rate * height / 100:.1f}" for index, point in enumerate(points)
    )
