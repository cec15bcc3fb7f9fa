"""This app's lines on the compliance officer's home (core/home.py): approvals and art. 23 notifications.

Counts read ``disclosure_status_idx`` (submitted ones) and ``disclosed_subject_due_idx``
(notify_by, notified_at), counted up to the cap.
"""

from datetime import timedelta
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shipex_privacy.accounts.roles import COMPLIANCE_OFFICER
from shipex_privacy.core.home import HomeItem, capped_count, register_home_item
from shipex_privacy.core.i18n import interpolate_lazy

from .models import DisclosedSubject, Disclosure

NOTIFY_SOON_DAYS = 7


def notifications_due(today=None):
    """Subjects of sent disclosures not told yet, whose notify-by day is today or within the next week."""
    today = today or timezone.localdate()
    return DisclosedSubject.objects.filter(
        disclosure__sent_at__isnull=False, notified_at__isnull=True, exemption="",
        notify_by__gte=today, notify_by__lte=today + timedelta(days=NOTIFY_SOON_DAYS),
    )


def notifications_due_url(user) -> str:
    today = timezone.localdate()
    return "{}?{}".format(reverse("admin:disclosures_disclosedsubject_changelist"), urlencode({
        "notify_by__gte": today.isoformat(),
        "notify_by__lte": (today + timedelta(days=NOTIFY_SOON_DAYS)).isoformat(),
        "notified_at__isnull": "True", "exemption__exact": "",
    }))


def register() -> None:
    officer = (COMPLIANCE_OFFICER,)
    register_home_item(HomeItem(
        key="disclosures.to_approve", roles=officer, title=_("Disclosures waiting for my approval"),
        permission="disclosures.approve_disclosure", order=20,
        count=lambda user: capped_count(Disclosure.objects.waiting_for_approval(user)),
        url=lambda user: reverse("admin:disclosures_disclosure_changelist") + "?approval=mine",
    ))
    register_home_item(HomeItem(
        key="disclosures.notifications_overdue", roles=officer, alarm=True, order=21,
        title=_("Subjects not yet told of a disclosure, past the deadline (art. 23)"),
        permission="disclosures.view_disclosedsubject",
        count=lambda user: capped_count(DisclosedSubject.objects.notifications_overdue()),
        url=lambda user: reverse("admin:disclosures_disclosedsubject_overdue"),
    ))
    register_home_item(HomeItem(
        key="disclosures.notifications_due", roles=officer, order=22,
        title=interpolate_lazy(_("Subjects to tell of a disclosure within %(days)s days (art. 23)"),
                               {"days": NOTIFY_SOON_DAYS}),
        permission="disclosures.view_disclosedsubject",
        count=lambda user: capped_count(notifications_due()), url=notifications_due_url,
    ))


register()
