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
- ``PanelRows``: a panel's short list of rows as one such column (a JSON array), rebuilt into model
  instances by ``PanelRows.rows_of(subject, ...)``;
- ``page_catalogue(request)``: the data catalogue, read once for the whole page (the form, the
  inlines, the masking rule and every panel).
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F, JSONField, Subquery, Window
from django.db.models.functions import JSONArray, RowNumber
from django.http import HttpRequest
from django.utils import timezone


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


class PanelRows(Subquery):
    """The rows (the first ``limit``) of ``queryset`` (correlated to the subject by ``OuterRef("pk")``), in its
    order, as one JSON array column of the subject's query: each row an array of its position and the
    values of ``fields``. Rows come back in order by their position, whatever order the database
    aggregates them in; ``rows_of`` turns them into instances of the queryset's model."""

    output_field = JSONField()
    ROW = "panel_row"
    TEMPLATES = {
        "sqlite": '(SELECT JSON_GROUP_ARRAY(JSON("panel_rows"."panel_row")) FROM (%(subquery)s) "panel_rows")',
        "postgresql": "(SELECT COALESCE(JSONB_AGG(\"panel_rows\".\"panel_row\"), '[]'::jsonb) "
                      'FROM (%(subquery)s) "panel_rows")',
    }

    def __init__(self, queryset, fields, limit: int | None = None):
        position = Window(RowNumber(), order_by=list(queryset.query.order_by or queryset.model._meta.ordering))
        rows = queryset.annotate(**{self.ROW: JSONArray(position, *fields)}).values(self.ROW)
        if limit is not None:
            rows = rows[:limit]
        super().__init__(rows, output_field=JSONField())

    def as_sql(self, compiler, connection, template=None, **extra_context):
        if connection.vendor not in self.TEMPLATES:
            raise NotImplementedError(f"PanelRows on {connection.vendor}")
        return super().as_sql(compiler, connection, template=self.TEMPLATES[connection.vendor], **extra_context)

    @staticmethod
    def rows_of(subject, column: str, build) -> list:
        """``build(values)`` of each row of ``column``, in the queryset's order (values as JSON gave them)."""
        rows = sorted(getattr(subject, column) or [], key=lambda row: row[0])
        return [build(row[1:]) for row in rows]

    @staticmethod
    def instance(model, db: str, attnames, values):
        """A ``model`` instance of the fields named (others deferred, as with ``only()``) from JSON values."""
        converted = []
        for name, value in zip(attnames, values, strict=True):
            value = model._meta.get_field(name).to_python(value)
            if settings.USE_TZ and hasattr(value, "tzinfo") and hasattr(value, "hour") and timezone.is_naive(value):
                value = timezone.make_aware(value, datetime.UTC)  # SQLite keeps UTC datetimes without their zone
            converted.append(value)
        return model.from_db(db, list(attnames), converted)
