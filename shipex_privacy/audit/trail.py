"""The audit trail: one searchable entry per history row, across every audited model.

``record_entry`` runs on simple-history's post_create_historical_record, inside the transaction
that wrote the history row. History rows written without signals (data migrations) get their
entries after every migrate. ``change_rows`` turns one entry into a readable diff: catalogue
names for fields, identifiers masked.
"""

from dataclasses import dataclass
from datetime import datetime

from django.apps import apps
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.formats import date_format

from shipex_privacy.core.fields import derived_field_names

from .models import AuditedHistoryModel, TrailEntry


def audited_history_models() -> list:
    return [model for model in apps.get_models() if issubclass(model, AuditedHistoryModel)]


def subject_of(history_row) -> int | None:
    tracked = history_row.instance_type
    if tracked._meta.label == "subjects.DataSubject":
        return history_row.id
    return getattr(history_row, "subject_id", None)


def entry_values(history_row, event: str = "") -> dict:
    """The trail entry of a history row, as field values (the bulk path copies them in without an instance)."""
    tracked = history_row.instance_type
    return {
        "at": history_row.history_date, "user_id": history_row.history_user_id,
        "username": history_row.history_username, "action": history_row.history_type,
        "model": tracked._meta.label_lower, "object_id": str(history_row.id), "subject_id": subject_of(history_row),
        "reason": history_row.history_change_reason or "", "event": event, "ip": history_row.history_ip,
        "history_table": history_row._meta.db_table, "history_id": history_row.history_id,
    }


def entry_for(history_row, event: str = "") -> TrailEntry:
    return TrailEntry(**entry_values(history_row, event))


def record_entry(sender, history_instance, **kwargs) -> None:
    """post_create_historical_record: the history row's trail entry, in the same transaction."""
    if isinstance(history_instance, AuditedHistoryModel):
        # The event that audit.services stamped on the record beside its reason (audit/events.py).
        event = getattr(kwargs.get("instance"), "_history_event", "")
        entry_for(history_instance, event).save(using=kwargs.get("using"))


def record_missing_entries(sender, using, **kwargs) -> None:
    """post_migrate: entries for history rows that data migrations wrote without signals."""
    for model in audited_history_models():
        missing = model.objects.using(using).filter(
            ~Exists(TrailEntry.objects.using(using).filter(history_table=model._meta.db_table,
                                                           history_id=OuterRef("history_id")))
        ).order_by("history_id")
        for row in missing.iterator(chunk_size=2000):
            entry_for(row).save(using=using)  # save(): the tamper digest is written with it


@dataclass(frozen=True)
class ChangeRow:
    field: str
    old: str
    new: str


def history_row_of(entry: TrailEntry):
    model = next(m for m in audited_history_models() if m._meta.db_table == entry.history_table)
    return model.objects.get(history_id=entry.history_id)


def _shown(field, value, reveal: bool) -> str:
    """A value as staff read it: its choice label, local time, or masked as the catalogue says
    (``catalogue.masking``, the rule of every page); the entry's page reveals it with a logged reason."""
    from shipex_privacy.catalogue.masking import is_masked, mask_value

    if value in (None, ""):
        return "—"
    if not reveal and is_masked(field.model, field.name):
        return mask_value(field.model, field.name, value)
    if field.choices:
        value = dict(field.flatchoices).get(value, value)
    elif isinstance(value, datetime):
        value = date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    return str(value)


def change_rows(entry: TrailEntry, *, reveal: bool = False) -> list[ChangeRow]:
    """What changed in this entry's history row, field by field, labelled as the catalogue names it."""
    from shipex_privacy.catalogue.models import PersonalDataField

    row = history_row_of(entry)
    tracked = row.instance_type
    names = {name: entry.name for name, entry in PersonalDataField.objects.bound_to(tracked).items()}

    def label(field_name: str) -> str:
        return names.get(field_name) or str(tracked._meta.get_field(field_name).verbose_name)

    derived = derived_field_names(tracked)  # a name's search key: its name's change says it all
    previous = row.prev_record
    if previous is None or row.history_type == "-":
        # Created or deleted: every value it had, on the side where it stands.
        deleted = row.history_type == "-"
        rows = []
        for field in tracked._meta.concrete_fields:
            value = getattr(row, field.attname)
            if field.primary_key or value in (None, "") or field.name in derived:
                continue
            shown = _shown(field, value, reveal)
            rows.append(ChangeRow(label(field.name), shown if deleted else "—", "—" if deleted else shown))
        return rows
    return [
        ChangeRow(label(change.field), _shown(tracked._meta.get_field(change.field), change.old, reveal),
                  _shown(tracked._meta.get_field(change.field), change.new, reveal))
        for change in row.diff_against(previous, foreign_keys_are_objs=False, excluded_fields=derived).changes
    ]
