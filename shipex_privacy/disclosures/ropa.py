"""Records of processing (RoPA): purpose → fields → systems → recipients → retention → cross-border,
with the transfer mechanism (reference, date) of each system and recipient abroad (ZRU-547 art. 15).

Built from the current catalogue, or as of a past date from its history: each catalogue table's
latest history row at that moment, and the disclosures sent by then (sent ones never change).
"""

import io
from dataclasses import dataclass
from datetime import datetime

from django.apps import apps
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from shipex_privacy.catalogue.models import PersonalDataField, Purpose, RetentionRule, System, transfer_summary
from shipex_privacy.core import exports
from shipex_privacy.core.i18n import in_language

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
            mechanisms = [f"{getattr(obj, 'legal_name', '') or obj.name} ({obj.country}): {transfer_summary(obj)}"
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


def as_csv(rows: list[RopaRow]) -> str:
    return exports.as_csv([str(header) for header in RopaRow.HEADERS], (row.values() for row in rows))


def as_xlsx(rows: list[RopaRow], title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "RoPA"
    exports.xlsx_append(sheet, [title])
    exports.xlsx_append(sheet, [str(header) for header in RopaRow.HEADERS])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in rows:
        exports.xlsx_append(sheet, row.values())
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
