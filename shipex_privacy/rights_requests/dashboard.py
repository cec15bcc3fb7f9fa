"""The requests dashboard (issue 5, item 10): open and overdue per kind, median time to close.

Two queries however many requests and kinds there are: one pass over the requests counts open,
overdue and recently closed ones for every kind at once (conditional aggregation), and one reads
the median of each kind's times to close — the middle row(s) of each kind's closed requests ordered
by time to close, picked out by a window function — rather than loading them all.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Window
from django.db.models.functions import RowNumber
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


def medians_time_to_close(queryset) -> dict[str, timedelta]:
    """The median time from receipt to closing of each kind's closed requests in ``queryset``."""
    closed = queryset.filter(closed_at__isnull=False).annotate(
        time_to_close=ExpressionWrapper(F("closed_at") - F("received_at"), output_field=DurationField()),
        position=Window(RowNumber(), partition_by=[F("kind")], order_by=[F("time_to_close").asc(), F("id").asc()]),
        of=Window(Count("id"), partition_by=[F("kind")]),
    )
    # Positions count from 1: the middle one of an odd count, the middle two of an even one.
    middle = closed.filter(position__gte=(F("of") - 1) / 2 + 1, position__lte=F("of") / 2 + 1)
    by_kind: dict[str, list[timedelta]] = {}
    for kind, time_to_close in middle.order_by().values_list("kind", "time_to_close"):
        by_kind.setdefault(kind, []).append(time_to_close)
    return {kind: sum(times, timedelta()) / len(times) for kind, times in by_kind.items()}


def dashboard_rows(now=None) -> list[KindRow]:
    now = now or timezone.now()
    since = now - timedelta(days=CLOSED_WINDOW_DAYS)
    is_open = ~Q(status__in=SubjectRequest.CLOSED)
    counts = {row["kind"]: row for row in SubjectRequest.objects.order_by().values("kind").annotate(
        open=Count("id", filter=is_open),
        overdue=Count("id", filter=is_open & Q(paused_at__isnull=True, due_at__lt=now)),
        closed=Count("id", filter=Q(closed_at__gte=since)),
    )}
    medians = medians_time_to_close(SubjectRequest.objects.filter(closed_at__gte=since))
    rows = []
    for kind, label in SubjectRequest.Kind.choices:
        figures = counts.get(kind, {})
        median = medians.get(kind)
        rows.append(KindRow(
            kind=kind, label=str(label), open=figures.get("open", 0), overdue=figures.get("overdue", 0),
            closed=figures.get("closed", 0),
            median_days=round(median / timedelta(days=1), 1) if median is not None else None,
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
