"""Sections of the subject page that other apps add without this app knowing them.

A workflow app (consents, disclosures, requests) registers a panel in its ``AppConfig.ready()``:

    register_subject_panel(SubjectPanel(
        title=_("Consents"), template="admin/consents/subject_panel.html",
        context=lambda request, subject: {"consents": subject.consents.all()[:20]},
        permission="consents.view_consent", order=30,
    ))

The subject page renders each panel the user may see, in ``order``, with the panel's context.

The page's query count must not grow with the panels or their rows (issue 15), so a panel says
what it needs instead of reading it on its own where it can:

- ``columns(request)``: expressions (correlated subqueries) added to the subject's own query; the
  context finds them as attributes of ``subject``, and reads them itself when they are missing
  (a subject loaded elsewhere);
- ``page_catalogue(request)``: the data catalogue, read once for the whole page (the form, the
  inlines, the masking rule and every panel).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import F
from django.http import HttpRequest


@dataclass(frozen=True)
class SubjectPanel:
    title: str
    template: str
    context: Callable[[HttpRequest, object], dict]
    permission: str | None = None
    order: int = 100
    # Columns the panel reads from the subject's own query: name → expression (see the module's text).
    columns: Callable[[HttpRequest], dict] | None = None


_panels: list[SubjectPanel] = []


def register_subject_panel(panel: SubjectPanel) -> None:
    if panel not in _panels:
        _panels.append(panel)


def visible_panels(request: HttpRequest) -> list[SubjectPanel]:
    return [
        panel for panel in sorted(_panels, key=lambda panel: panel.order)
        if panel.permission is None or request.user.has_perm(panel.permission)
    ]


def panel_columns(request: HttpRequest) -> dict:
    """What the panels this user sees read from the subject's row, for the page to add to its one query."""
    columns = {}
    for panel in visible_panels(request):
        if panel.columns is not None:
            columns.update(panel.columns(request))
    return columns


def panels_for(request: HttpRequest, subject) -> list[dict]:
    return [
        {"title": panel.title, "template": panel.template, **panel.context(request, subject)}
        for panel in visible_panels(request)
    ]


def page_catalogue(request: HttpRequest | None) -> dict:
    """Every catalogue entry by code, each with ``purpose_clauses``, read once per request.

    One query (the entries joined to their purposes); the catalogue's masking rule for the request
    is taken from the same rows, so masked displays ask nothing more. Without a request, a fresh read.
    """
    entries = getattr(request, "_subject_page_catalogue", None)
    if entries is not None:
        return entries
    from shipex_privacy.catalogue.masking import remember_rules_from
    from shipex_privacy.catalogue.models import PersonalDataField

    entries = {}
    rows = PersonalDataField.objects.annotate(purpose_clause=F("purposes__clause")).order_by(
        *PersonalDataField._meta.ordering, "purpose_clause")
    for row in rows:  # one row per entry and purpose (one with None for an entry without purposes)
        entry = entries.setdefault(row.code, row)
        if entry is row:
            entry.purpose_clauses = []
        if row.purpose_clause is not None:
            entry.purpose_clauses.append(row.purpose_clause)
    remember_rules_from(entries.values())
    if request is not None:
        request._subject_page_catalogue = entries
    return entries


def bound_entries(request: HttpRequest | None, model) -> dict:
    """``PersonalDataField.objects.bound_to(model)`` from the page's catalogue: entries by field name."""
    prefix = f"{model._meta.app_label}.{model._meta.object_name}."
    return {
        entry.binding.removeprefix(prefix): entry
        for entry in page_catalogue(request).values() if entry.binding.startswith(prefix)
    }
