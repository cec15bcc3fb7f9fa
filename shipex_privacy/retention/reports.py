"""What the retention rules will reach soon: the admin page "Expires in the next 30 days"."""

from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Count, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from shipex_privacy.catalogue.models import RetentionRule

from . import erasing
from .services import works


@dataclass(frozen=True)
class ExpiringRecord:
    pk: int
    subject_id: int | None
    expires_on: date
    on_hold: bool
    url: str


@dataclass
class ExpiringGroup:
    rule: RetentionRule
    label: str
    model_name: str
    count: int
    held: int
    records: list[ExpiringRecord] = field(default_factory=list)

    @property
    def first_expiry(self) -> date:
        return self.records[0].expires_on


@dataclass(frozen=True)
class NotApplied:
    rule: RetentionRule
    label: str
    note: str


def _change_url(label: str, pk) -> str:
    app_label, model_name = label.lower().split(".")
    try:
        return reverse(f"admin:{app_label}_{model_name}_change", args=[pk])
    except NoReverseMatch:
        return ""


def expiring_soon(*, now: datetime | None = None, days: int = 30, limit: int = 20
                  ) -> tuple[list[ExpiringGroup], list[NotApplied]]:
    """Per rule and model: how many records reach the rule's end within ``days`` days, and the first
    ``limit`` of them by expiry date. Two queries per rule and model, however many records there are."""
    now = now or timezone.now()
    groups, not_applied = [], []
    for work in works(now=now, expiring_days=days):
        if not work.applicable:
            not_applied.append(NotApplied(work.rule, work.label, work.note))
            continue
        totals = work.queryset.aggregate(count=Count("pk"), held=Count("pk", filter=Q(on_hold=True)))
        if not totals["count"]:
            continue
        subject_path = "pk" if work.held.subject_path in ("pk", None) else work.held.subject_path
        first = work.queryset.order_by("clock_start", "pk").values_list("pk", subject_path, "clock_start",
                                                                          "on_hold")[:limit]
        model = work.held.model
        groups.append(ExpiringGroup(
            rule=work.rule, label=work.label, model_name=str(model._meta.verbose_name_plural),
            count=totals["count"], held=totals["held"],
            records=[ExpiringRecord(pk, subject_id if work.held.subject_path else None,
                                    erasing.expires_on(start, work.rule), on_hold, _change_url(work.label, pk))
                     for pk, subject_id, start, on_hold in first],
        ))
    groups.sort(key=lambda group: (group.first_expiry, group.rule.code, group.label))
    return groups, not_applied
