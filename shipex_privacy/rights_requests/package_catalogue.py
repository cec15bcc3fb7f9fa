"""The access package's catalogue sections: data held here, data collected automatically, data held elsewhere.

Driven by the data catalogue alone: every entry bound to a field of this back office lists the
subject's values (found through the held-model registry that erasure and retention use), and the
entries held only in other systems are described, except where that system has answered with its
own part (``writer.state["answered_systems"]``, left by the integrations' section).
"""

from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shipex_privacy.catalogue.models import PersonalDataField, Purpose
from shipex_privacy.retention.erasing import HeldModel, held_model

from .package_sections import PackageSection, register_package_section
from .package_writers import CHUNK_ROWS, choices, label, purpose_json

# The first of these a model has dates its records (first and last seen, the date column).
RECORD_DATE_FIELDS = ("occurred_at", "accepted_at", "received_at", "created_at", "started_on", "registered_at")
SEEN = "catalogue_seen"  # per bound code: how many values, first and last record date
ANSWERED_SYSTEMS = "answered_systems"  # ids of the systems whose own part is in the package


def _date_field(model) -> str | None:
    names = {field.name for field in model._meta.concrete_fields}
    return next((name for name in RECORD_DATE_FIELDS if name in names), None)


def describe(entry: PersonalDataField) -> dict:
    rule, system = entry.retention_rule, entry.system
    return {
        "name": entry.name,
        "category": entry.get_category_display(),
        "requirement": entry.get_requirement_display(),
        "collection_method": {"code": entry.collection_method, "label": entry.get_collection_method_display()},
        "purposes": [purpose_json(purpose) for purpose in entry.purposes.all()],
        "retention": {
            "period": str(rule.period_display), "clock_starts": rule.get_clock_starts_display(),
            "at_the_end": rule.get_end_action_display(), "statutory": rule.is_statutory,
            "legal_reference": rule.shown.legal_reference if rule.is_statutory else "",
        },
        "system": {"code": system.code, "name": system.shown.name, "owner": system.shown.owner,
                   "country": system.country},
        "storage_country": entry.storage_country,
        "binding": entry.binding,
    }


def entry_html(writer, code: str, about: dict) -> None:
    """The heading and the description of one catalogue entry."""
    retention = about["retention"]
    kept = f"{retention['period']}, {retention['clock_starts']}; {retention['at_the_end']}"
    if retention["legal_reference"]:
        kept += f" ({retention['legal_reference']})"
    system = about["system"]
    # The code stays in the anchor and the JSON: subjects read the name, not our catalogue's codes.
    writer.html.write(format_html('<h3 id="{}">{}</h3>\n<dl>\n', f"entry-{code}", about["name"]))
    purposes = format_html_join("", "<li>{} — {} <i>({}: {})</i></li>", (
        (purpose["clause"], purpose["name"], label(Purpose, "legal_basis"), purpose["legal_basis"]["label"])
        for purpose in about["purposes"]))
    for term, description in (
        (label(PersonalDataField, "purposes"), format_html("<ul>{}</ul>", purposes) if about["purposes"] else "—"),
        (label(PersonalDataField, "retention_rule"), kept),
        (label(PersonalDataField, "system"), f"{system['name']} ({system['country']})"),
        (label(PersonalDataField, "requirement"), about["requirement"]),
        (label(PersonalDataField, "collection_method"), about["collection_method"]["label"]),
    ):
        writer.html.write(format_html("<dt>{}</dt><dd>{}</dd>\n", term, description))
    writer.html.write("</dl>\n")


# -- data held in this back office, by catalogue entry ------------------------------------------


def write_held_data(writer) -> None:
    writer.section("held-data", _("Personal data ShipEx holds about you"), _(
        "Each kind of data from ShipEx's data catalogue that this back office holds, with why it is held, "
        "on what legal basis, for how long, and your values."))
    writer.state[SEEN] = {}
    writer.json.begin("held_data")
    for entry in writer.entries:
        if entry.binding:
            _bound_entry(writer, entry)
    writer.json.end()
    writer.end_section()


def _bound_entry(writer, entry: PersonalDataField) -> None:
    field = entry.bound_model_field()
    model, about = field.model, describe(entry)
    # Whose records these are is known in one place, the registry that erasure and retention use.
    held, date_name = held_model(model), _date_field(model)
    entry_html(writer, entry.code, about)
    writer.json.begin(entry.code)
    for key, value in about.items():
        writer.json.put(value, key)
    writer.json.put(model._meta.label, "model")
    seen = writer.state[SEEN][entry.code] = {"count": 0, "first": None, "last": None}
    writer.json.begin("values", "[")
    writer.table(_("Record"), _("Value"), label(model, date_name) if date_name else _("Date"))
    labels = choices(model, field.name) if field.choices else {}
    for pk, value, when in _values(writer.subject, held, field, date_name):
        if value is None or value == "":
            continue  # nothing held in this record
        seen["count"] += 1
        if when is not None:
            seen["first"] = when if seen["first"] is None else min(seen["first"], when)
            seen["last"] = when if seen["last"] is None else max(seen["last"], when)
        item = {"record": pk, "value": writer.plain(value), "at": writer.plain(when)}
        if labels:
            item["label"] = labels.get(value, str(value))
        writer.json.put(item)
        writer.row(f"#{pk}", item["label"] if labels else writer.shown(value), writer.shown(when))
    writer.counted(seen["count"])
    writer.json.end("]")
    writer.end_table(seen["count"], 3)
    writer.json.put(seen["count"], "count")
    if held is None or held.subject_path is None:
        writer.json.put(_("This model is not linked to data subjects."), "note")
    writer.json.end()


def _values(subject, held: HeldModel | None, field, date_name: str | None):
    """(record id, value, record date) of every row of the model belonging to the subject, in chunks."""
    if held is None:
        return
    rows = held.of_subject(subject.pk).order_by(*([date_name] if date_name else []), "pk")
    date_of = (lambda row: getattr(row, date_name)) if date_name else (lambda row: None)
    if field.many_to_one or field.one_to_one:
        # Related objects are shown by name (a service used, …), not by their database id.
        for row in rows.select_related(field.name).iterator(chunk_size=CHUNK_ROWS):
            yield row.pk, getattr(row, field.name), date_of(row)
    else:
        names = ["pk", field.name, *([date_name] if date_name else [])]
        for row in rows.values_list(*names).iterator(chunk_size=CHUNK_ROWS):
            yield row[0], row[1], row[2] if date_name else None


# -- summary of the data collected automatically ----------------------------------------------


def write_automatic(writer) -> None:
    writer.section("automatic", _("Data collected automatically"), _(
        "Data ShipEx's services collect without you typing it in (clause 1.2.1.2): how many records this "
        "back office holds and over which period, or which system holds it."))
    writer.json.begin("automatically_collected")
    writer.table(capfirst(_("name")), _("Records"), _("First"), _("Last"), label(PersonalDataField, "system"))
    seen_codes = writer.state.get(SEEN, {})
    count = 0
    for entry in writer.entries:
        if entry.collection_method != PersonalDataField.CollectionMethod.AUTOMATIC:
            continue
        count += 1
        if entry.binding:
            seen = seen_codes[entry.code]
            writer.json.put({"name": entry.name, "held_here": True, "count": seen["count"],
                             "first": writer.plain(seen["first"]), "last": writer.plain(seen["last"]),
                             "system": entry.system.shown.name}, entry.code)
            writer.row(entry.name, seen["count"], writer.shown(seen["first"]), writer.shown(seen["last"]),
                       entry.system.shown.name)
        else:
            note = _("Held in “%(system)s”, not in this back office, so this copy cannot include it; providing "
                     "it is a task for the system's owner (%(owner)s).") % {
                "system": entry.system.shown.name, "owner": entry.system.shown.owner}
            writer.json.put({"name": entry.name, "held_here": False, "system": entry.system.shown.name,
                             "owner": entry.system.shown.owner, "note": note}, entry.code)
            writer.row(entry.name, "—", "—", "—", note)
    writer.json.end()
    writer.end_table(count, 5)
    writer.end_section()


# -- catalogue entries held only in other ShipEx systems that have not answered -----------------


def write_held_elsewhere(writer) -> None:
    writer.section("elsewhere", _("Data held in other ShipEx systems"), _(
        "ShipEx may also hold these kinds of data about you in other systems. They are not in this copy; "
        "ask for them and the owner of each system will answer."))
    answered = writer.state.get(ANSWERED_SYSTEMS, set())
    writer.json.begin("held_elsewhere")
    for entry in writer.entries:
        if not entry.binding and entry.system_id not in answered:
            about = describe(entry)
            writer.json.put(about, entry.code)
            entry_html(writer, entry.code, about)
    writer.json.end()
    writer.end_section()


register_package_section(PackageSection(
    key="catalogue.held_data", order=10, anchor="held-data", title=gettext_lazy(
        "Personal data ShipEx holds about you"), write=write_held_data))
register_package_section(PackageSection(
    key="catalogue.automatic", order=40, anchor="automatic", title=gettext_lazy("Data collected automatically"),
    write=write_automatic))
register_package_section(PackageSection(
    key="catalogue.held_elsewhere", order=90, anchor="elsewhere", title=gettext_lazy(
        "Data held in other ShipEx systems"), write=write_held_elsewhere))
