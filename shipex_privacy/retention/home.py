"""This app's line on the compliance officer's home (core/home.py): what retention takes in the next 30 days.

The same records as the "Expires in the next 30 days" page (``reports.expiring_soon``), without the
ones under a legal hold, counted up to the cap per rule and model. One query per rule and model of
the catalogue (its size, not the data's), and the total is cached.
"""

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shipex_privacy.accounts.roles import COMPLIANCE_OFFICER
from shipex_privacy.core.home import CAP, HomeItem, cached, capped_count, register_home_item
from shipex_privacy.core.i18n import interpolate_lazy

from .admin import EXPIRING_DAYS
from .services import works


def taken_soon() -> int:
    """Records whose data a retention rule erases within ``EXPIRING_DAYS`` days, up to just past the cap."""
    total = 0
    for work in works(now=timezone.now(), expiring_days=EXPIRING_DAYS):
        if not work.applicable or work.queryset is None:
            continue
        total += capped_count(work.queryset.filter(on_hold=False), cap=CAP - total)
        if total > CAP:
            break
    return total


def register() -> None:
    register_home_item(HomeItem(
        key="retention.taken_soon", roles=(COMPLIANCE_OFFICER,), order=40,
        title=interpolate_lazy(_("Records retention erases in the next %(days)s days"), {"days": EXPIRING_DAYS}),
        permission="retention.view_retentionrun",
        count=lambda user: cached("retention_taken_soon", taken_soon),
        url=lambda user: reverse("admin:retention_retentionrun_expiring"),
    ))


register()
