"""The requests dashboard (issue 5, item 10): open and overdue per kind, median time to close.

Each figure is an indexed count or one ordered row per kind, so the page costs a few queries per
kind however many requests there are; the median is read as the middle row(s) of the closed
requests ordered by their time to close, not by loading them all.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import DurationField, ExpressionWrapper, F
from django.utils import timezone

from .models import SubjectRequest

CLOSED_WINDOW_DAYS = 365  # the median covers requests closed in the last year


@dataclass(frozen=True)
class KindRow:
    kind: str
    label: str
    open: int
    overdue: int
    closed: int
    median_days: float | None


def median_time_to_close(queryset) -> tuple[int, timedelta | None]:
    closed = queryset.filter(closed_at__isnull=False).annotate(
        time_to_close=ExpressionWrapper(F("closed_at") - F("received_at"), output_field=DurationField()))
    count = closed.count()
    if not count:
        return 0, None
    ordered = closed.order_by("time_to_close", "id").values_list("time_to_close", flat=True)
    middle = list(ordered[(count - 1) // 2: count // 2 + 1])
    return count, sum(middle, timedelta()) / len(middle)


def dashboard_rows(now=None) -> list[KindRow]:
    now = now or timezone.now()
    requests = SubjectRequest.objects.all()
    since = now - timedelta(days=CLOSED_WINDOW_DAYS)
    rows = []
    for kind, label in SubjectRequest.Kind.choices:
        of_kind = requests.filter(kind=kind)
        closed, median = median_time_to_close(of_kind.filter(closed_at__gte=since))
        rows.append(KindRow(
            kind=kind, label=str(label), open=of_kind.open().count(), overdue=of_kind.overdue(now).count(),
            closed=closed, median_days=round(median / timedelta(days=1), 1) if median is not None else None,
        ))
    return rows


@dataclass(frozen=True)
class Bar:
    y: int
    label: str
    open_width: float
    overdue_width: float
    median_width: float
    row: KindRow

    # Where the bars start in the template's SVG, and where the figures beside them go.
    OPEN_X, MEDIAN_X, GAP = 250, 640, 6

    @property
    def open_label_x(self) -> float:
        return self.OPEN_X + self.open_width + self.GAP

    @property
    def median_label_x(self) -> float:
        return self.MEDIAN_X + self.median_width + self.GAP


def dashboard_chart(rows: list[KindRow], width: int = 300) -> list[Bar]:
    """Bar geometry for the SVG chart: open (with its overdue part) and median days, per kind."""
    most_open = max((row.open for row in rows), default=0) or 1
    longest = max((row.median_days or 0 for row in rows), default=0) or 1
    return [
        Bar(y=index * 28, label=row.label, open_width=round(width * row.open / most_open, 1),
            overdue_width=round(width * row.overdue / most_open, 1),
            median_width=round(width * (row.median_days or 0) / longest, 1), row=row)
        for index, row in enumerate(rows)
    ]
