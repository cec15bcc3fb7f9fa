"""Each role's home page: "what needs me now", one line per item, each with a count and a link.

Apps contribute the items from their ``AppConfig.ready()`` (``<app>/home.py``), the way they add
subject panels; this module knows no app's models:

    register_home_item(HomeItem(
        key="protection.reviews_overdue", roles=(COMPLIANCE_OFFICER,), title=_("Measure reviews overdue"),
        count=lambda user: capped_count(Measure.objects.overdue()),
        url=lambda user: reverse("admin:protection_measure_changelist") + "?review=overdue",
        permission="protection.view_measure", alarm=True,
    ))

A staff member sees the sections of their roles (a superuser sees them all), and in each the items
whose ``permission`` they hold. The page must stay cheap however large the tables grow (design.md,
"Performance rules"), so an item's count is an indexed filter counted only up to ``CAP`` (a
``LIMIT``ed subquery: "99+" past it), never a ``COUNT(*)`` over a whole table, and each item runs a
fixed number of queries whatever the data. Items that must read many rows (charts, what retention
takes) keep their figures in the cache for ``CACHE_SECONDS`` with ``cached()``.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.core.cache import cache
from django.db.models import Count
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shipex_privacy.accounts.roles import AUDITOR, COMPLIANCE_OFFICER, SUPPORT_AGENT

CAP = 99
CACHE_SECONDS = 600

# The sections, in the order a superuser sees them; the titles say whose work they hold.
SECTIONS = (
    (SUPPORT_AGENT, _("Requests waiting for me")),
    (COMPLIANCE_OFFICER, _("Compliance: what needs attention")),
    (AUDITOR, _("Audit: the record and who read what")),
)


@dataclass(frozen=True)
class HomeItem:
    key: str  # stable: "<app>.<what>", the item's HTML id and the tests' handle
    roles: tuple[str, ...]
    title: str
    url: Callable[[object], str | None]
    count: Callable[[object], int | None] | None = None
    permission: str | None = None
    order: int = 100
    # Red when the count is not zero: something is late or wrong.
    alarm: bool = False
    # More than a count (a chart, a status, a short list): a template and what it shows.
    template: str | None = None
    detail: Callable[[object], object] | None = None


@dataclass
class ShownItem:
    item: HomeItem
    count: int | None
    url: str | None
    detail: object = None

    @property
    def count_text(self) -> str:
        if self.count is None:
            return "—"
        return f"{CAP}+" if self.count > CAP else str(self.count)

    @property
    def counted(self) -> bool:
        return self.item.count is not None

    @property
    def html_id(self) -> str:
        return "home-" + self.item.key.replace(".", "-").replace("_", "-")

    @property
    def alarming(self) -> bool:
        return self.item.alarm and bool(self.count)


@dataclass
class Section:
    role: str
    title: str
    items: list[ShownItem] = field(default_factory=list)


_items: list[HomeItem] = []


def register_home_item(item: HomeItem) -> None:
    if all(known.key != item.key for known in _items):
        _items.append(item)


def registered_items() -> list[HomeItem]:
    return sorted(_items, key=lambda item: (item.order, item.key))


def capped_count(queryset, cap: int = CAP) -> int:
    """How many rows ``queryset`` has, counted up to ``cap + 1`` only: ``SELECT COUNT(*) FROM (… LIMIT n)``."""
    return queryset.order_by().values("pk")[: cap + 1].count()


def cached(key: str, compute: Callable[[], object], seconds: int = CACHE_SECONDS):
    """``compute()``, kept ``seconds`` in the cache: for figures that read many rows (not per user)."""
    key = f"shipex.home.{key}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, seconds)
    return value


def user_roles(user) -> set[str]:
    if user.is_superuser:
        return {role for role, _title in SECTIONS}
    # One query, kept on the user for the rest of the request.
    if not hasattr(user, "_home_roles"):
        user._home_roles = set(user.groups.values_list("name", flat=True))
    return user._home_roles


def home_sections(user) -> list[Section]:
    """The sections of ``user``'s roles with the items they may see, each counted now."""
    roles = user_roles(user)
    sections = []
    for role, title in SECTIONS:
        if role not in roles:
            continue
        section = Section(role=role, title=title)
        for item in registered_items():
            if role not in item.roles or (item.permission and not user.has_perm(item.permission)):
                continue
            section.items.append(ShownItem(
                item=item,
                count=item.count(user) if item.count else None,
                url=item.url(user),
                detail=item.detail(user) if item.detail else None,
            ))
        if section.items:
            sections.append(section)
    return sections


@dataclass(frozen=True)
class MonthBar:
    x: int
    height: float
    label: str
    value: int

    @property
    def label_x(self) -> float:
        return self.x + BAR_WIDTH / 2

    @property
    def y(self) -> float:
        return CHART_HEIGHT - self.height


BAR_WIDTH, BAR_GAP, CHART_HEIGHT = 22, 6, 60


def month_bars(months: list[tuple[str, int]]) -> list[MonthBar]:
    """Bar geometry for a small SVG chart of ``(label, value)`` per month, oldest first."""
    most = max((value for _label, value in months), default=0) or 1
    return [
        MonthBar(x=index * (BAR_WIDTH + BAR_GAP), height=round(CHART_HEIGHT * value / most, 1), label=label,
                 value=value)
        for index, (label, value) in enumerate(months)
    ]


def month_starts(months: int = 12, now=None) -> list[date]:
    """The first days of the last ``months`` months, this one last (Tashkent time)."""
    today = timezone.localdate(now or timezone.now())
    year, month = today.year, today.month
    starts = []
    for _step in range(months):
        starts.append(date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return starts[::-1]


def per_month(queryset, field_name: str, months: int = 12, now=None) -> list[tuple[date, int]]:
    """Rows of ``queryset`` per month of ``field_name`` over the last ``months`` months: one grouped query."""
    starts = month_starts(months, now)
    since = timezone.make_aware(datetime.combine(starts[0], time.min))
    counts = {
        row["month"].date() if isinstance(row["month"], datetime) else row["month"]: row["n"]
        for row in queryset.filter(**{f"{field_name}__gte": since}).order_by()
        .annotate(month=TruncMonth(field_name)).values("month").annotate(n=Count("pk"))
    }
    return [(start, counts.get(start, 0)) for start in starts]


def chart_of(months: list[tuple[date, int]]) -> dict:
    """What the month-chart template needs: bars labelled by month number, the year under January and the first."""
    bars = month_bars([(f"{start:%m}", value) for start, value in months])
    years = [(bar.label_x, start.year) for bar, (start, _value) in zip(bars, months, strict=True)
             if start.month == 1 or bar is bars[0]]
    return {"bars": bars, "years": years, "total": sum(value for _start, value in months),
            "width": len(bars) * (BAR_WIDTH + BAR_GAP), "height": CHART_HEIGHT}
