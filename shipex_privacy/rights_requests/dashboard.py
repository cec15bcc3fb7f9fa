"""The requests dashboard (issue 5, item 10): open and overdue per kind, median time to close.

Two queries however many requests there are: one over the open requests only (the queue's partial
index) counts open and overdue ones of every kind at once (conditional aggregation); one over the
requests closed in the window (an index that holds kind, closed and received, so the wide request
rows are not read) counts them per kind and picks out the middle row(s) of each kind's times to
close with a window function, rather than loading them all.
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


def closed_per_kind(queryset) -> dict[str, tuple[int, timedelta]]:
    """Per kind: how many of the closed requests in ``queryset``, and their median time to close."""
    time_to_close = ExpressionWrapper(F("closed_at") - F("received_at"), output_field=DurationField())
    closed = queryset.filter(closed_at__isnull=False).annotate(
        time_to_close=time_to_close,
        # Ties need no order of their own: equal times give the same median whichever comes first.
        position=Window(RowNumber(), partition_by=[F("kind")], order_by=[time_to_close.asc()]),
        of=Window(Count("*"), partition_by=[F("kind")]),
    )
    # Positions count from 1: the middle one of an odd count, the middle two of an even one.
    middle = closed.filter(position__gte=(F("of") - 1) / 2 + 1, position__lte=F("of") / 2 + 1)
    by_kind: dict[str, tuple[int, list[timedelta]]] = {}
    for kind, of, time in middle.order_by().values_list("kind", "of", "time_to_close"):
        by_kind.setdefault(kind, (of, []))[1].append(time)
    return {kind: (of, sum(times, timedelta()) / len(times)) for kind, (of, times) in by_kind.items()}


def dashboard_rows(now=None) -> list[KindRow]:
    now = now or timezone.now()
    since = now - timedelta(days=CLOSED_WINDOW_DAYS)
    open_counts = {row["kind"]: row for row in SubjectRequest.objects.open().order_by().values("kind").annotate(
        open=Count("id"), overdue=Count("id", filter=Q(paused_at__isnull=True, due_at__lt=now)),
    )}
    closed = closed_per_kind(SubjectRequest.objects.filter(closed_at__gte=since))
    rows = []
    for kind, label in SubjectRequest.Kind.choices:
        counts = open_counts.get(kind, {})
        count, median = closed.get(kind, (0, None))
        rows.append(KindRow(
            kind=kind, label=str(label), open=counts.get("open", 0), overdue=counts.get("overdue", 0),
            closed=count, median_days=round(median / timedelta(days=1), 1) if median is not None else None,
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
