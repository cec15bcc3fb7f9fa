"""This app's lines on the role homes (core/home.py): a support agent's requests, and requests per month.

Every count is an indexed filter (the assignee index, the queue's partial index, the paused
requests' partial index ``subject_request_paused_home_idx``) counted up to the cap; the monthly
chart reads ``subject_request_received_home_idx`` and is cached.
"""

from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shipex_privacy.accounts.roles import COMPLIANCE_OFFICER, SUPPORT_AGENT
from shipex_privacy.core.home import HomeItem, cached, capped_count, chart_of, per_month, register_home_item
from shipex_privacy.core.i18n import interpolate_lazy

from .admin import DUE_SOON_DAYS
from .models import SubjectRequest, end_of_day

VIEW = "rights_requests.view_subjectrequest"


def queue_url(**params) -> str:
    return f"{reverse('admin:rights_requests_subjectrequest_changelist')}?{urlencode(params)}"


def end_of_today() -> str:
    return end_of_day(timezone.localdate()).isoformat()


def due_today(user):
    today_ends = end_of_day(timezone.localdate())
    return SubjectRequest.objects.due_soon(DUE_SOON_DAYS).mine(user).filter(due_at__lte=today_ends)


def resumable():
    """Paused requests whose subject has no legal hold left: the reason for the pause has ended."""
    return (SubjectRequest.objects.open().filter(paused_at__isnull=False)
            .exclude(subject__legal_holds__released_at__isnull=True))


def requests_chart(user) -> dict:
    return chart_of(cached("requests_per_month", lambda: per_month(SubjectRequest.objects.all(), "received_at")))


def register() -> None:
    support = (SUPPORT_AGENT,)
    register_home_item(HomeItem(
        key="requests.mine_overdue", roles=support, title=_("My requests past their deadline"), permission=VIEW,
        order=10, alarm=True,
        count=lambda user: capped_count(SubjectRequest.objects.overdue().mine(user)),
        url=lambda user: queue_url(queue="overdue", assignee_id__exact=user.pk),
    ))
    register_home_item(HomeItem(
        key="requests.mine_due_today", roles=support, title=_("My requests due today"), permission=VIEW, order=11,
        count=lambda user: capped_count(due_today(user)),
        url=lambda user: queue_url(queue="due_soon", assignee_id__exact=user.pk, due_at__lte=end_of_today()),
    ))
    register_home_item(HomeItem(
        key="requests.mine_due_soon", roles=support, permission=VIEW, order=12,
        title=interpolate_lazy(_("My requests due within %(days)s days"), {"days": DUE_SOON_DAYS}),
        count=lambda user: capped_count(SubjectRequest.objects.due_soon(DUE_SOON_DAYS).mine(user)),
        url=lambda user: queue_url(queue="due_soon", assignee_id__exact=user.pk),
    ))
    register_home_item(HomeItem(
        key="requests.unassigned_new", roles=support, title=_("New requests nobody has taken"), permission=VIEW,
        order=13,
        count=lambda user: capped_count(SubjectRequest.objects.unassigned().filter(status=SubjectRequest.Status.NEW)),
        url=lambda user: queue_url(queue="unassigned", status__exact=SubjectRequest.Status.NEW),
    ))
    register_home_item(HomeItem(
        key="requests.pause_ended", roles=support, permission=VIEW, order=14, alarm=True,
        title=_("Paused requests whose legal hold is released: resume them"),
        count=lambda user: capped_count(resumable()),
        url=lambda user: queue_url(paused_at__isnull="False"),
    ))
    register_home_item(HomeItem(
        key="requests.per_month", roles=(COMPLIANCE_OFFICER,), permission=VIEW, order=80,
        title=_("Requests received per month"),
        url=lambda user: reverse("admin:rights_requests_subjectrequest_dashboard"),
        template="admin/home/month_chart.html", detail=requests_chart,
    ))


register()
