"""Records of processing (RoPA), in two views:

- **by processing activity** (issue 13), the one the authority expects: each activity's purposes and
  legal basis, categories of subjects and of data, recipients (those abroad with their mechanism),
  retention, the protection measures in place, the operator and the responsible person;
- **field level**: purpose → fields → systems → recipients → retention → cross-border, with the
  transfer mechanism (reference, date) of each system and recipient abroad (ZRU-547 art. 15).

Built from the current catalogue, or as of a past date from its history: each catalogue table's
latest history row at that moment, and the disclosures sent by then (sent ones never change).
"""

import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.apps import apps
from django.conf import settings
from django.utils import formats
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from shipex_privacy.catalogue.models import (
    PersonalDataField,
    ProcessingActivity,
    Purpose,
    RetentionRule,
    System,
    transfer_summary,
)
from shipex_privacy.core import exports
from shipex_privacy.core.i18n import in_language
from shipex_privacy.protection.models import Measure, ResponsiblePerson

from .models import Disclosure, Recipient


@dataclass(frozen=True)
class RopaRow:
    purpose: str
    legal_basis: str
    field: str
    field_name: str
    requirement: str
    system: str
    stored_in: str
    retention: str
    recipients: str
    cross_border: str
    transfer_mechanism: str

    # Lazy: the page, the CSV and the XLSX are headed in the reader's language.
    HEADERS = (
        gettext_lazy("purpose"), gettext_lazy("legal basis"), gettext_lazy("field"), gettext_lazy("field name"),
        gettext_lazy("requirement"), gettext_lazy("system"), gettext_lazy("stored in"), gettext_lazy("retention"),
        gettext_lazy("recipients"), gettext_lazy("cross-border"), gettext_lazy("transfer mechanism"),
    )

    def values(self) -> list[str]:
        # str(): choice labels are lazy translations, which the CSV and XLSX writers cannot take.
        return [str(value) for value in (
            self.purpose, self.legal_basis, self.field, self.field_name, self.requirement, self.system,
            self.stored_in, self.retention, self.recipients, self.cross_border, self.transfer_mechanism,
        )]


def _name(obj) -> str:
    """The name in the active language; historical rows have the columns but not the ``name`` property."""
    return getattr(obj, f"name_{(get_language() or 'uz')[:2]}", "") or obj.name_uz


def retention_text(rule) -> str:
    if rule is None:
        return "—"
    text = f"{rule.period} {RetentionRule.Unit(rule.unit).label}"
    return text + f" — {in_language(rule, 'legal_reference')}" if rule.is_statutory else text


def _latest(model, as_of: datetime | None) -> dict[int, object]:
    """Objects by id: current ones, or the historical rows in force at ``as_of`` (deleted ones left out)."""
    if as_of is None:
        return {obj.pk: obj for obj in model.objects.all()}
    rows = model.history.filter(history_date__lte=as_of).latest_of_each()
    return {row.id: row for row in rows if row.history_type != "-"}


def _received(as_of: datetime | None) -> dict[tuple[int, int], set[int]]:
    """(purpose, field) → ids of the recipients that got that field for that purpose in a disclosure
    sent (by ``as_of``). The database reduces the disclosures to their distinct triples, so the
    work here follows the recipients and the catalogue, not how many disclosures were sent."""
    links = Disclosure.fields.through.objects.filter(disclosure__sent_at__isnull=False)
    if as_of is not None:
        links = links.filter(disclosure__sent_at__lte=as_of)
    triples = links.order_by().values_list(
        "disclosure__purpose_id", "personaldatafield_id", "disclosure__recipient_id").distinct()
    received: dict[tuple[int, int], set[int]] = {}
    for purpose_id, field_id, recipient_id in triples:
        received.setdefault((purpose_id, field_id), set()).add(recipient_id)
    return received


def build(as_of: datetime | None = None) -> list[RopaRow]:
    purposes = _latest(Purpose, as_of)
    systems = _latest(System, as_of)
    rules = _latest(RetentionRule, as_of)
    recipients = _latest(Recipient, as_of)
    if as_of is None:
        fields = list(PersonalDataField.objects.prefetch_related("purposes"))
        served_by = {field.pk: {purpose.pk for purpose in field.purposes.all()} for field in fields}
    else:
        fields = [row for row in PersonalDataField.history.filter(history_date__lte=as_of).latest_of_each()
                  if row.history_type != "-"]
        # Each history row carries the purposes as they were then, in its own table: one query for all.
        links = apps.get_model("catalogue", "HistoricalPersonalDataField_purposes").objects.filter(
            history_id__in=[row.history_id for row in fields]
        )
        by_history: dict[int, set[int]] = {}
        for link in links:
            by_history.setdefault(link.history_id, set()).add(link.purpose_id)
        served_by = {row.id: by_history.get(row.history_id, set()) for row in fields}

    received = _received(as_of)

    rows = []
    for field in sorted(fields, key=lambda f: f.code):
        system = systems.get(field.system_id)
        rule = rules.get(field.retention_rule_id)
        served = [purposes[pk] for pk in served_by[field.id] if pk in purposes]
        for purpose in sorted(served, key=lambda purpose: purpose.clause):
            purpose_id = purpose.id
            names = sorted(
                f"{recipients[pk].legal_name} ({recipients[pk].country})"
                for pk in received.get((purpose_id, field.id), ()) if pk in recipients
            )
            given = [recipients[pk] for pk in received.get((purpose_id, field.id), ()) if pk in recipients]
            # Historical rows have the columns but not the models' __str__: name them by column.
            mechanisms = [f"{getattr(obj, 'legal_name', '') or in_language(obj, 'name')} ({obj.country}): "
                      f"{transfer_summary(obj)}"
                          for obj in ([system] if system else []) + sorted(given, key=lambda r: r.legal_name)
                          if transfer_summary(obj)]
            abroad = sorted({
                country for country in (
                    field.storage_country, system.country if system else "UZ",
                    *(recipients[pk].country for pk in received.get((purpose_id, field.id), ()) if pk in recipients),
                ) if country != "UZ"
            })
            rows.append(RopaRow(
                purpose=f"{purpose.clause} {_name(purpose)}",
                legal_basis=Purpose.LegalBasis(purpose.legal_basis).label,
                field=field.code,
                field_name=_name(field),
                requirement=PersonalDataField.Requirement(field.requirement).label,
                system=in_language(system, "name") if system else "—",
                stored_in=field.storage_country,
                retention=retention_text(rule),
                recipients="; ".join(names) or "—",
                cross_border=", ".join(abroad) or _("no"),
                transfer_mechanism="; ".join(mechanisms) or "—",
            ))
    return rows


@dataclass(frozen=True)
class ActivityRow:
    activity: str
    description: str
    purposes: str
    legal_basis: str
    subjects: str
    data_categories: str
    data: str
    systems: str
    recipients: str
    cross_border: str
    transfer_mechanism: str
    retention: str
    protection_measures: str
    operator: str
    responsible_person: str

    HEADERS = (
        gettext_lazy("processing activity"), gettext_lazy("description"), gettext_lazy("purposes"),
        gettext_lazy("legal basis"), gettext_lazy("categories of data subjects"),
        gettext_lazy("categories of personal data"), gettext_lazy("personal data"), gettext_lazy("systems"),
        gettext_lazy("recipients"), gettext_lazy("cross-border"), gettext_lazy("transfer mechanism"),
        gettext_lazy("retention"), gettext_lazy("protection measures"), gettext_lazy("operator"),
        gettext_lazy("responsible person"),
    )

    def values(self) -> list[str]:
        return [str(value) for value in (
            self.activity, self.description, self.purposes, self.legal_basis, self.subjects, self.data_categories,
            self.data, self.systems, self.recipients, self.cross_border, self.transfer_mechanism, self.retention,
            self.protection_measures, self.operator, self.responsible_person,
        )]


def _links(model, as_of: datetime | None, rows: dict[int, object], target: str) -> dict[int, set[int]]:
    """Object id → ids on the far side of ``model``'s M2M ``target``: today's, or those its history row in
    force at ``as_of`` kept (simple-history copies the links into a table of its own for each row)."""
    linked: dict[int, set[int]] = {pk: set() for pk in rows}
    own = model._meta.model_name
    far = model._meta.get_field(target).related_model._meta.model_name
    if as_of is None:
        through = getattr(model, target).through.objects.values_list(f"{own}_id", f"{far}_id")
        for obj_id, other_id in through:
            linked.setdefault(obj_id, set()).add(other_id)
        return linked
    by_history = {row.history_id: row.id for row in rows.values()}
    history = apps.get_model(model._meta.app_label, f"Historical{model._meta.object_name}_{target}")
    for history_id, other_id in history.objects.filter(history_id__in=list(by_history)).values_list(
            "history_id", f"{far}_id"):
        linked[by_history[history_id]].add(other_id)
    return linked


def _operator() -> str:
    name, tin = getattr(settings, "SHIPEX_OPERATOR_NAME", ""), getattr(settings, "SHIPEX_OPERATOR_TIN", "")
    return _("%(name)s, TIN %(tin)s") % {"name": name, "tin": tin} if tin else name


def _responsible(as_of: datetime | None) -> str:
    person = ResponsiblePerson.objects.current(at=as_of)
    if person is None:
        return _("nobody recorded")
    return _("%(name)s, order № %(number)s of %(date)s") % {
        "name": person.name, "number": person.order_number,
        "date": formats.date_format(person.order_date, "SHORT_DATE_FORMAT")}


def _retention(rule) -> str:
    text = _name(rule)
    reference = in_language(rule, "legal_reference")
    return f"{text} — {reference}" if rule.is_statutory and reference else text


def build_activities(as_of: datetime | None = None) -> list[ActivityRow]:
    """One row per processing activity, as the catalogue and the registers stood at ``as_of`` (or now).

    A fixed number of queries: each table is read once, the activities' links from one table each."""
    purposes = _latest(Purpose, as_of)
    systems = _latest(System, as_of)
    rules = _latest(RetentionRule, as_of)
    recipients = _latest(Recipient, as_of)
    fields = _latest(PersonalDataField, as_of)
    activities = _latest(ProcessingActivity, as_of)
    activity_purposes = _links(ProcessingActivity, as_of, activities, "purposes")
    activity_fields = _links(ProcessingActivity, as_of, activities, "fields")
    received = _received(as_of)
    measures = "; ".join(sorted(in_language(measure, "title") for measure in _latest(Measure, as_of).values()
                                if measure.status == Measure.Status.IN_PLACE)) or "—"
    operator, responsible = _operator(), _responsible(as_of)
    category_order = list(PersonalDataField.Category.values)

    rows = []
    for activity in sorted(activities.values(), key=lambda row: row.code):
        served = sorted((purposes[pk] for pk in activity_purposes[activity.id] if pk in purposes),
                        key=lambda purpose: purpose.clause)
        used = sorted((fields[pk] for pk in activity_fields[activity.id] if pk in fields), key=lambda f: f.code)
        held_in = {field.system_id: systems[field.system_id] for field in used if field.system_id in systems}
        given = {pk for purpose in served for field in used for pk in received.get((purpose.id, field.id), ())
                 if pk in recipients}
        given_to = sorted((recipients[pk] for pk in given), key=lambda recipient: recipient.legal_name)
        countries = ({field.storage_country for field in used} | {system.country for system in held_in.values()}
                     | {recipient.country for recipient in given_to})
        abroad = sorted(countries - {"UZ"})
        # Historical rows have the columns but not the models' __str__: name them by column.
        mechanisms = [f"{getattr(obj, 'legal_name', '') or in_language(obj, 'name')} ({obj.country}): "
                      f"{transfer_summary(obj)}"
                      for obj in sorted(held_in.values(), key=lambda system: system.name) + given_to
                      if transfer_summary(obj)]
        held_rules = {field.retention_rule_id: rules[field.retention_rule_id] for field in used
                      if field.retention_rule_id in rules}
        categories = sorted({field.category for field in used}, key=category_order.index)
        rows.append(ActivityRow(
            activity=_name(activity),
            description=in_language(activity, "description"),
            purposes="; ".join(f"{purpose.clause} {_name(purpose)}" for purpose in served) or "—",
            legal_basis="; ".join(f"{purpose.clause}: {Purpose.LegalBasis(purpose.legal_basis).label}"
                                  for purpose in served) or "—",
            subjects="; ".join(str(ProcessingActivity.SubjectCategory(value).label)
                               for value in activity.subject_categories
                               if value in ProcessingActivity.SubjectCategory.values) or "—",
            data_categories="; ".join(str(PersonalDataField.Category(value).label) for value in categories) or "—",
            data="; ".join(f"{_name(field)} ({field.code})" for field in used) or "—",
            systems="; ".join(f"{in_language(system, 'name')} ({system.country})"
                              for system in sorted(held_in.values(), key=lambda system: system.name)) or "—",
            recipients="; ".join(f"{recipient.legal_name} ({recipient.country})" for recipient in given_to) or "—",
            cross_border=", ".join(abroad) or _("no"),
            transfer_mechanism="; ".join(mechanisms) or "—",
            retention="; ".join(sorted(_retention(rule) for rule in held_rules.values())) or "—",
            protection_measures=measures,
            operator=operator,
            responsible_person=responsible,
        ))
    return rows


def _headers(headers: Iterable) -> list[str]:
    return [str(header) for header in headers]


def as_csv(rows: list[RopaRow]) -> str:
    return exports.as_csv([str(header) for header in RopaRow.HEADERS], (row.values() for row in rows))


def activities_as_csv(rows: list[ActivityRow]) -> str:
    return exports.as_csv(_headers(ActivityRow.HEADERS), (row.values() for row in rows))


# Column widths in characters: wide enough to read a short value whole, never wider than a screen's half.
MIN_WIDTH, MAX_WIDTH = 10, 60


def _sheet(workbook, title: str, caption: str, headers: list[str], rows: Iterable[list[str]], *, first: bool):
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    sheet = workbook.active if first else workbook.create_sheet()
    sheet.title = title
    exports.xlsx_append(sheet, [caption])
    exports.xlsx_append(sheet, headers)
    widths = [len(header) for header in headers]
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for values in rows:
        exports.xlsx_append(sheet, values)
        widths = [max(width, len(value)) for width, value in zip(widths, values, strict=True)]
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width + 2, MIN_WIDTH), MAX_WIDTH)
    last = get_column_letter(len(headers))
    sheet.freeze_panes = "A3"  # the caption and the header stay in view
    sheet.auto_filter.ref = f"A2:{last}{max(sheet.max_row, 2)}"
    return sheet


def as_xlsx(activities: list[ActivityRow], rows: list[RopaRow], title: str) -> bytes:
    """Two sheets: the activities, then the field-level view; each with a frozen header, filters, widths."""
    from openpyxl import Workbook

    workbook = Workbook()
    _sheet(workbook, str(_("Activities")), title, _headers(ActivityRow.HEADERS),
           (row.values() for row in activities), first=True)
    _sheet(workbook, str(_("Field level")), title, _headers(RopaRow.HEADERS), (row.values() for row in rows),
           first=False)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
