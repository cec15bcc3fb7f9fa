"""The subject page's legal holds panel: holds in force first, then released ones."""

from django.db.models import F, OuterRef
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from shipex_privacy.subjects.panels import PanelRows, SubjectPanel, register_subject_panel

from .models import LegalHold

SHOWN = 20


COLUMN = "legal_holds_panel_rows"


def _holds(subject):
    # Holds in force (released_at empty) first, then the latest released.
    return LegalHold.objects.filter(subject=subject).order_by(
        F("released_at").desc(nulls_first=True), "-placed_at", "-id")


def _fields() -> list[str]:
    return [field.attname for field in LegalHold._meta.concrete_fields]


def legal_holds_panel_columns(request) -> dict:
    # Read with the subject's own row: the newest SHOWN, one more to say there are more.
    return {COLUMN: PanelRows(_holds(OuterRef("pk")), _fields(), limit=SHOWN + 1)}


def legal_holds_panel_context(request, subject) -> dict:
    if hasattr(subject, COLUMN):
        db, fields = subject._state.db, _fields()
        rows = PanelRows.rows_of(subject, COLUMN, lambda values: PanelRows.instance(LegalHold, db, fields, values))
    else:  # a subject read without the panel's column: one query
        rows = list(_holds(subject)[: SHOWN + 1])
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
        columns=legal_holds_panel_columns,
    )
)
