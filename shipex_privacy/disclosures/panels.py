"""“Who received my data”: every sent disclosure of a subject, on the subject page."""

from django.utils.translation import gettext_lazy as _

from shipex_privacy.catalogue.models import PersonalDataField
from shipex_privacy.subjects.panels import SubjectPanel, register_subject_panel

from .models import DisclosedSubject


def received_panel_context(request, subject) -> dict:
    rows = (
        DisclosedSubject.objects.filter(subject=subject, disclosure__sent_at__isnull=False)
        .select_related("disclosure__recipient").order_by("-disclosure__sent_at")[:50]
    )
    rows = list(rows)
    codes = {code for row in rows for code in row.disclosure.manifest.get("fields", [])}
    names = {entry.code: entry.name for entry in PersonalDataField.objects.filter(code__in=codes)}
    for row in rows:
        row.field_names = [names.get(code, code) for code in row.disclosure.manifest.get("fields", [])]
    return {"rows": rows}


register_subject_panel(
    SubjectPanel(
        title=_("Who received this subject's data"),
        template="admin/disclosures/subject_panel.html",
        context=received_panel_context,
        permission="disclosures.view_disclosure",
        order=40,
    )
)
