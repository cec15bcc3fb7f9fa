"""“Who received my data”: every sent disclosure of a subject, on the subject page."""

from django.utils.translation import gettext_lazy as _

from shipex_privacy.subjects.panels import SubjectPanel, page_catalogue, register_subject_panel

from .models import DisclosedSubject


def received_panel_context(request, subject) -> dict:
    rows = (
        DisclosedSubject.objects.filter(subject=subject, disclosure__sent_at__isnull=False)
        .select_related("disclosure__recipient").order_by("-disclosure__sent_at")[:50]
    )
    rows = list(rows)
    catalogue = page_catalogue(request)  # read once for the whole page
    for row in rows:
        row.field_names = [
            catalogue[code].name if code in catalogue else code for code in row.disclosure.manifest.get("fields", [])
        ]
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
