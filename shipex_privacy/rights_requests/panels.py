"""The subject page's requests panel: the subject's requests, newest first, and a "New request" button."""

from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from shipex_privacy.subjects.panels import SubjectPanel, register_subject_panel

from .models import SubjectRequest

SHOWN = 20


def requests_panel_context(request, subject) -> dict:
    # One query, however many requests the subject made: the newest SHOWN, one more to say there are more.
    rows = list(SubjectRequest.objects.filter(subject=subject).order_by("-received_at", "-id")[: SHOWN + 1])
    add_url = None
    if request.user.has_perm("rights_requests.add_subjectrequest") and not subject.is_erased:
        add_url = f"{reverse('admin:rights_requests_subjectrequest_add')}?{urlencode({'subject': subject.pk})}"
    return {
        "rows": rows[:SHOWN],
        "more_url": (f"{reverse('admin:rights_requests_subjectrequest_changelist')}?"
                     f"{urlencode({'subject__id__exact': subject.pk, 'queue': 'all'})}") if len(rows) > SHOWN else None,
        "add_url": add_url,
    }


register_subject_panel(
    SubjectPanel(
        title=_("Data-subject requests"),
        template="admin/rights_requests/subject_panel.html",
        context=requests_panel_context,
        permission="rights_requests.view_subjectrequest",
        order=10,
    )
)
