"""The subject page's legal holds panel: holds in force first, then released ones."""

from django.db.models import F
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from shipex_privacy.subjects.panels import SubjectPanel, register_subject_panel

from .models import LegalHold

SHOWN = 20


def legal_holds_panel_context(request, subject) -> dict:
    # One query: holds in force (released_at empty) first, then the latest released.
    rows = list(LegalHold.objects.filter(subject=subject)
                .order_by(F("released_at").desc(nulls_first=True), "-placed_at", "-id")[: SHOWN + 1])
    add_url = None
    if request.user.has_perm("retention.add_legalhold") and not subject.is_erased:
        add_url = f"{reverse('admin:retention_legalhold_add')}?{urlencode({'subject': subject.pk})}"
    return {"rows": rows[:SHOWN], "more": len(rows) > SHOWN, "add_url": add_url}


register_subject_panel(
    SubjectPanel(
        title=_("Legal holds"),
        template="admin/retention/subject_panel.html",
        context=legal_holds_panel_context,
        permission="retention.view_legalhold",
        order=50,
    )
)
