"""Consent rate per purpose over time, read from the consent ledger."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.utils import timezone

from shipex_privacy.catalogue.models import Purpose
from shipex_privacy.subjects.models import DataSubject

from .models import Consent


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
    """For each purpose that needs consent: subjects with a consent in force / subjects registered."""
    moments = month_ends(months)
    subjects = {moment: DataSubject.objects.filter(registered_at__lte=moment).count() for moment in moments}
    return [
        (
            purpose,
            [
                RatePoint(
                    moment,
                    Consent.objects.filter(purpose=purpose, recipient_kind="").in_force_at(moment).count(),
                    subjects[moment],
                )
                for moment in moments
            ],
        )
        for purpose in Purpose.objects.filter(requires_consent=True)
    ]


def svg_points(points: list[RatePoint], width: int = 600, height: int = 160) -> str:
    """SVG polyline coordinates for rates of 0–100 %, left to right."""
    step = width / max(len(points) - 1, 1)
    return " ".join(
        f"{index * step:.1f},{height - point.rate * height / 100:.1f}" for index, point in enumerate(points)
    )
