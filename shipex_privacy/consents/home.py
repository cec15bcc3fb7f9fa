"""This app's line on the compliance officer's home (core/home.py): consents granted per month.

A year of consents is many rows, so the figures are cached (core/home.py ``cached``).
"""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from shipex_privacy.accounts.roles import COMPLIANCE_OFFICER
from shipex_privacy.core.home import HomeItem, cached, chart_of, per_month, register_home_item

from .models import Consent


def consents_chart(user) -> dict:
    return chart_of(cached("consents_per_month", lambda: per_month(Consent.objects.all(), "granted_at")))


def register() -> None:
    register_home_item(HomeItem(
        key="consents.per_month", roles=(COMPLIANCE_OFFICER,), order=81, title=_("Consents granted per month"),
        permission="consents.view_consent", url=lambda user: reverse("admin:consents_consent_report"),
        template="admin/home/month_chart.html", detail=consents_chart,
    ))


register()
