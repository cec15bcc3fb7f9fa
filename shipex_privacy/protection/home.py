"""This app's lines on the compliance officer's home (core/home.py): overdue reviews, overdue
re-assessments of protection levels and open incidents.

Each reads its own index (``measure_review_due_idx``, ``protection_level_reassess_idx``,
``incident_status_found_idx``).
"""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from shipex_privacy.accounts.roles import COMPLIANCE_OFFICER
from shipex_privacy.core.home import HomeItem, capped_count, register_home_item

from .models import Incident, Measure, ProtectionLevel

NOT_CLOSED = (Incident.Status.OPEN, Incident.Status.CONTAINED)


def register() -> None:
    officer = (COMPLIANCE_OFFICER,)
    register_home_item(HomeItem(
        key="protection.reviews_overdue", roles=officer, title=_("Protection measures past their review date"),
        permission="protection.view_measure", order=30, alarm=True,
        count=lambda user: capped_count(Measure.objects.overdue()),
        url=lambda user: reverse("admin:protection_measure_changelist") + "?review=overdue",
    ))
    register_home_item(HomeItem(
        key="protection.levels_overdue", roles=officer,
        title=_("Protection levels past their re-assessment date"),
        permission="protection.view_protectionlevel", order=32, alarm=True,
        count=lambda user: capped_count(ProtectionLevel.objects.overdue()),
        url=lambda user: reverse("admin:protection_protectionlevel_changelist") + "?reassessment=overdue",
    ))
    register_home_item(HomeItem(
        key="protection.incidents_open", roles=officer, title=_("Incidents not closed"),
        permission="protection.view_incident", order=31, alarm=True,
        count=lambda user: capped_count(Incident.objects.filter(status__in=NOT_CLOSED)),
        url=lambda user: reverse("admin:protection_incident_changelist") + "?status__in=" + ",".join(NOT_CLOSED),
    ))


register()
