"""Erasing catalogued personal data from one record, and where each model's retention clock starts.

Both an erasure request (rights_requests/erasure.py) and a retention run (services.py) come down
to the same step: take one record and the catalogue entries bound to its fields, and blank or
anonymise those values, through ``record_save`` / ``record_delete`` so history keeps every change.
``plan_erasure`` works out what would change without writing (a dry run is exactly this);
``apply_plan`` writes it; ``apply_plans`` writes many at once through the bulk audited path (a
retention run's batch). A value already erased plans no change, so a second pass writes no
history row.

What each field becomes:

* a replacement registered for the field (``account_id`` → ``ERASED-<pk>``), whatever the end
  action: the column cannot be empty, or an empty value would break a rule of the database;
* otherwise NULL where the column allows it, else an empty string where it allows one;
* otherwise the field's fixed default (``preferred_language`` → ``uz``, which says nothing about
  anyone);
* otherwise, for records that cannot exist without the field (an address without a street, a
  service use without its service), the whole record is deleted — but only when every personal
  field of it that still holds a value is being erased too, so data kept under another rule is
  never deleted with it; when it is not, text columns get a fixed placeholder.

Append-only ledgers (``APPEND_ONLY``) are never planned: the database refuses any change to them.
"""

import calendar
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.apps import apps
from django.db import models, transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Q, Value
from django.db.models.expressions import Combinable
from django.utils import timezone

from shipex_privacy.audit.bulk import can_delete_many, record_delete_many, record_save_many
from shipex_privacy.audit.events import AuditEvent
from shipex_privacy.audit.services import record_delete, record_save
from shipex_privacy.catalogue.models import PersonalDataField, RetentionRule, field_of_binding

ClockStart = RetentionRule.ClockStart

# What a text column that must keep a value holds once erased; never anybody's data.
ERASED_TEXT = "[erased]"
PLACEHOLDER = "ERASED"


class ErasureImpossible(Exception):
    """A field that can be neither emptied, replaced nor deleted with its record."""


# --- Where the clock starts --------------------------------------------------------------------


@dataclass(frozen=True)
class Clock:
    """Where a retention clock starts for records of one model.

    ``path`` is the moment (a field, possibly through the subject); ``running`` the condition
    under which the clock runs at all (an open account has no "account closed" moment yet).
    """

    path: str | Combinable  # a field, or an expression when the moment is one of several fields
    running: Q | None = None
    is_date: bool = False


@dataclass(frozen=True)
class Replacement:
    """A fixed, non-identifying value for a field, and the query for records that already hold it."""

    value: Callable[[models.Model], Any]
    done: Callable[[], Q]


@dataclass(frozen=True, eq=False)  # one object per model: compared and hashed by identity
class HeldModel:
    """How the back office finds, times and erases the records of one model holding personal data."""

    label: str
    subject_path: str | None  # lookup from the record to its data subject ("pk" for the subject itself)
    clocks: dict[str, Clock] = field(default_factory=dict)
    replacements: dict[str, Replacement] = field(default_factory=dict)
    # The records only exist to hold their fields; erasing a required one deletes the record.
    deletable: bool = False

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.label)

    def clock(self, clock_starts: str) -> Clock | None:
        return self.clocks.get(clock_starts)

    def subject_id_of(self, instance: models.Model) -> int | None:
        if self.subject_path == "pk":
            return instance.pk
        if self.subject_path is None:
            return None
        path = self.subject_path.split("__")
        obj = instance
        for step in path[:-1]:
            obj = getattr(obj, step)
        return getattr(obj, f"{path[-1]}_id")

    def of_subject(self, subject_id: int) -> models.QuerySet:
        if self.subject_path is None:
            return self.model.objects.none()
        return self.model.objects.filter(**{self.subject_path: subject_id})


CLOSED_STATUSES = ("closed", "anonymised")
STOPPED_STATUSES = ("logged_out", "closed", "anonymised")


def account_closed(prefix: str) -> Clock:
    """The clock that starts when the subject's account (``prefix`` leads to the subject) closed."""
    return Clock(f"{prefix}status_changed_at", Q(**{f"{prefix}status__in": CLOSED_STATUSES}))


# --- The registry: each app registers its models in AppConfig.ready() ---------------------------
#
# Every model with a key to a data subject is either registered here with how its records are found,
# timed and erased (``register_held_model``), or declared as holding no personal data of its own,
# with the reason (``register_not_held``); tests/retention/test_held_registry.py holds every model
# to that. Clocks that are not listed (shipment delivered, last activity) are not held in this back
# office: the rule cannot be applied here and reports say so.

_held_models: dict[str, HeldModel] = {}
_not_held: dict[str, str] = {}


def register_held_model(held: HeldModel) -> None:
    """Register how the records of ``held.label`` are found, timed and erased (once per model)."""
    if _held_models.get(held.label, held) is not held:
        raise ValueError(f"{held.label} is already registered as a held model.")
    _held_models[held.label] = held
    held_model.cache_clear()


def register_not_held(label: str, *, reason: str) -> None:
    """Declare that ``label``, though linked to a data subject, holds no personal data of its own."""
    _not_held[label] = reason


def held_models() -> dict[str, HeldModel]:
    return dict(_held_models)


def not_held_models() -> dict[str, str]:
    return dict(_not_held)


@functools.cache
def held_model(model: type[models.Model]) -> HeldModel | None:
    """The registry entry of ``model``; None for a model that holds no subject's records."""
    return _held_models.get(model._meta.label)


def is_append_only(model: type[models.Model]) -> bool:
    return getattr(model, "APPEND_ONLY", False)


# --- Periods ----------------------------------------------------------------------------------


def _add_months(moment: date | datetime, months: int) -> date | datetime:
    total = moment.month - 1 + months
    year, month = moment.year + total // 12, total % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def shift(moment: date | datetime, rule: RetentionRule, sign: int = 1) -> date | datetime:
    """``moment`` plus (or, with ``sign=-1``, minus) the rule's period, in Tashkent time."""
    if isinstance(moment, datetime):
        moment = timezone.localtime(moment)
    if rule.unit == RetentionRule.Unit.DAYS:
        return moment + timedelta(days=sign * rule.period)
    months = rule.period * (12 if rule.unit == RetentionRule.Unit.YEARS else 1)
    return _add_months(moment, sign * months)


def expires_on(start: date | datetime, rule: RetentionRule) -> date:
    end = shift(start, rule)
    return end.date() if isinstance(end, datetime) else end


def _bound(clock: Clock, moment: datetime):
    return timezone.localdate(moment) if clock.is_date else moment


# --- Targets: what a field becomes --------------------------------------------------------------

ROW = object()  # the record is deleted
TEXT_FIELDS = models.CharField | models.TextField


@dataclass(frozen=True)
class Target:
    value: Any
    anonymised: bool  # replaced by a value rather than emptied


def target(held: HeldModel, model_field: models.Field, instance: models.Model | None = None) -> Target:
    """What ``model_field`` holds once erased (``ROW``: its record is deleted)."""
    if model_field.name in held.replacements:
        value = held.replacements[model_field.name].value(instance) if instance is not None else None
        return Target(value, anonymised=True)
    if model_field.null:
        return Target(None, anonymised=False)
    if model_field.blank and isinstance(model_field, TEXT_FIELDS | models.FileField):
        return Target("", anonymised=False)
    if model_field.has_default() and not callable(model_field.default):
        return Target(model_field.default, anonymised=True)
    if held.deletable:
        return Target(ROW, anonymised=False)
    if isinstance(model_field, models.CharField | models.TextField):
        return Target(_placeholder(model_field), anonymised=True)
    raise ErasureImpossible(f"{held.label}.{model_field.name}")


def _placeholder(model_field: models.Field) -> str:
    return PLACEHOLDER[: model_field.max_length or None]


def _empty(value) -> bool:
    return value is None or value == ""


def _has_value(model_field: models.Field) -> Q:
    condition = Q(**{f"{model_field.attname}__isnull": False})
    if isinstance(model_field, TEXT_FIELDS | models.FileField):
        condition &= ~Q(**{model_field.attname: ""})
    return condition


def still_holds(held: HeldModel, fields: list[models.Field]) -> Q:
    """Records where at least one of ``fields`` still holds a value that erasing would change."""
    condition = Q(pk__in=[])
    for model_field in fields:
        name = model_field.name
        if name in held.replacements:
            condition |= _has_value(model_field) & ~held.replacements[name].done()
            continue
        goal = target(held, model_field)
        if goal.value is ROW and isinstance(model_field, models.CharField | models.TextField):
            condition |= _has_value(model_field) & ~Q(**{model_field.attname: _placeholder(model_field)})
        elif goal.value is ROW or goal.value is None:
            condition |= _has_value(model_field)
        else:
            condition |= _has_value(model_field) & ~Q(**{model_field.attname: goal.value})
    return condition


# --- Plans ------------------------------------------------------------------------------------


@dataclass
class FieldChange:
    entry: PersonalDataField
    attname: str
    value: Any
    anonymised: bool


@dataclass
class Plan:
    """What erasing ``entries`` from ``instance`` would change; empty when nothing is left to erase."""

    instance: models.Model
    changes: list[FieldChange] = field(default_factory=list)
    delete_row: bool = False

    def __bool__(self) -> bool:
        return self.delete_row or bool(self.changes)

    @property
    def anonymised(self) -> bool:
        return not self.delete_row and any(change.anonymised for change in self.changes)

    @property
    def erases_mandatory(self) -> bool:
        return any(change.entry.is_mandatory for change in self.changes)

    def outcome(self, entry: PersonalDataField) -> str | None:
        """"erased", "anonymised" or None (nothing to change) for one entry."""
        for change in self.changes:
            if change.entry.pk == entry.pk:
                return "anonymised" if change.anonymised and not self.delete_row else "erased"
        return None


def _field_of(entry: PersonalDataField, model: type[models.Model]) -> models.Field:
    model_field = _bound_field(entry.binding)
    if model_field.model is not model:
        raise ValueError(f"{entry.code} is bound to {entry.binding}, not to {model._meta.label}.")
    return model_field


# A binding names the same field for the life of the process, and a run plans thousands of records
# against the same few entries. (A binding that names nothing raises, and is not cached.)
_bound_field = functools.cache(field_of_binding)


@functools.cache
def _personal_fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    names = getattr(model, "PERSONAL_DATA_FIELDS", ())
    return tuple(model._meta.get_field(name) for name in names)


def plan_erasure(instance: models.Model, entries: list[PersonalDataField]) -> Plan:
    """What erasing ``entries`` (catalogue entries bound to fields of ``instance``) would change."""
    model = type(instance)
    if is_append_only(model):
        raise ErasureImpossible(f"{model._meta.label} is an append-only ledger.")
    held = held_model(model) or HeldModel(model._meta.label, None)
    plan = Plan(instance)
    needs_row_deletion = False
    for entry in entries:
        model_field = _field_of(entry, model)
        current = getattr(instance, model_field.attname)
        if _empty(current):
            continue
        goal = target(held, model_field, instance)
        if goal.value is ROW:
            needs_row_deletion = True
        elif current == goal.value:
            continue
        plan.changes.append(FieldChange(entry, model_field.attname, goal.value, goal.anonymised))
    if needs_row_deletion:
        erased = {change.attname for change in plan.changes}
        kept = [f for f in _personal_fields(model) if f.attname not in erased
                and not _empty(getattr(instance, f.attname)) and getattr(instance, f.attname) != _placeholder(f)]
        if not kept:
            plan.delete_row = True
        else:
            # Another rule still keeps part of this record: keep the record, placeholders in its
            # required text columns (a placeholder already there is left alone).
            for change in list(plan.changes):
                if change.value is ROW:
                    model_field = model._meta.get_field(change.attname)
                    if not isinstance(model_field, models.CharField | models.TextField):
                        raise ErasureImpossible(f"{model._meta.label}.{model_field.name}")
                    change.value, change.anonymised = _placeholder(model_field), True
                    if getattr(instance, change.attname) == change.value:
                        plan.changes.remove(change)
    return plan


def _stage(plan: Plan, *, close_account: bool) -> bool:
    """Put ``plan``'s values on its record (not saved); True when the record then needs saving.

    A stored file goes once the emptied field is committed; a rollback keeps both.
    """
    instance = plan.instance
    for change in plan.changes:
        model_field = instance._meta.get_field(change.attname)
        if isinstance(model_field, models.FileField) and getattr(instance, change.attname):
            stored = getattr(instance, change.attname)
            transaction.on_commit(functools.partial(stored.storage.delete, stored.name))
        setattr(instance, change.attname, change.value)
    closed = close_account and instance._meta.label == "subjects.DataSubject" and close_subject(instance)
    return bool(plan) or closed


def apply_plan(plan: Plan, *, actor, reason: str, event: AuditEvent, close_account: bool = False) -> None:
    """Write ``plan``: one audited save (or delete) of its record.

    ``close_account`` closes a data subject that is still open in the same save: an account
    without its mandatory data cannot stay open (1.2.1.1).
    """
    instance = plan.instance
    if plan.delete_row:
        record_delete(instance=instance, actor=actor, reason=reason, event=event, allow_erased=True)
        return
    if _stage(plan, close_account=close_account):
        record_save(instance=instance, actor=actor, reason=reason, event=event, allow_erased=True)


@transaction.atomic
def apply_plans(plans: list[Plan], *, actor, reason: str, event: AuditEvent, close_accounts: bool = False) -> None:
    """Write many plans at once, in one transaction: what ``apply_plan`` would write for each.

    The records that change go through the bulk audited path (``audit.bulk.record_save_many``:
    the same rows, history rows and trail entries as a loop of saves, in a few statements);
    records deleted whole through ``record_delete_many`` where their model allows it (nothing else
    points to their rows), else one by one through ``record_delete``.
    ``close_accounts`` closes each open subject whose plan erases mandatory data (as
    ``apply_plan``'s ``close_account``). Callers lock the records and their subjects first.
    """
    saves = [plan.instance for plan in plans if not plan.delete_row
             and _stage(plan, close_account=close_accounts and plan.erases_mandatory)]
    if saves:
        record_save_many(instances=saves, actor=actor, reason=reason, event=event, allow_erased=True)
    deletes = [plan.instance for plan in plans if plan.delete_row]
    # Asked once per model, not per record: the answer walks the model's signals and managers.
    in_bulk_models = {model for model in {type(instance) for instance in deletes} if can_delete_many(model)}
    in_bulk = [instance for instance in deletes if type(instance) in in_bulk_models]
    if in_bulk:
        record_delete_many(instances=in_bulk, actor=actor, reason=reason, event=event, allow_erased=True)
    for instance in deletes:
        if type(instance) not in in_bulk_models:  # rows elsewhere point to it: delete() collects them
            record_delete(instance=instance, actor=actor, reason=reason, event=event, allow_erased=True)


def close_subject(subject) -> bool:
    """Mark a subject's account closed (not saved); False when it already is closed or anonymised."""
    if subject.is_erased:
        return False
    subject.status, subject.status_changed_at = subject.Status.CLOSED, timezone.now()
    return True


def erase_fields(*, instance: models.Model, entries: list[PersonalDataField], actor, reason: str,
                 event: AuditEvent = AuditEvent.ERASURE, dry_run: bool = False) -> Plan:
    """Plan and (unless ``dry_run``) write the erasure of ``entries`` from one record."""
    plan = plan_erasure(instance, entries)
    if plan and not dry_run:
        apply_plan(plan, actor=actor, reason=reason, event=event)
    return plan


# --- Queries over many records ------------------------------------------------------------------


def with_clock(queryset: models.QuerySet, clock: Clock) -> models.QuerySet:
    """Records whose clock runs, annotated with its start as ``clock_start``."""
    if clock.running is not None:
        queryset = queryset.filter(clock.running)
    start = F(clock.path) if isinstance(clock.path, str) else clock.path
    return queryset.annotate(clock_start=start).filter(clock_start__isnull=False)


def with_hold(queryset: models.QuerySet, held: HeldModel) -> models.QuerySet:
    """Annotated ``on_hold``: the record's subject is under an active legal hold."""
    from .models import LegalHold

    if held.subject_path is None:
        return queryset.annotate(on_hold=Value(False))
    return queryset.annotate(on_hold=Exists(LegalHold.objects.active().filter(subject_id=OuterRef(held.subject_path))))


def expired(held: HeldModel, rule: RetentionRule, entries: list[PersonalDataField], *,
            now: datetime) -> models.QuerySet | None:
    """Records past ``rule`` that still hold data of ``entries``; None when the clock is not held here."""
    clock = held.clock(rule.clock_starts)
    if clock is None:
        return None
    fields = [_field_of(entry, held.model) for entry in entries]
    queryset = with_clock(held.model.objects.all(), clock).filter(still_holds(held, fields))
    return with_hold(queryset.filter(clock_start__lt=_bound(clock, shift(now, rule, -1))), held)


def expiring(held: HeldModel, rule: RetentionRule, entries: list[PersonalDataField], *, now: datetime,
             days: int) -> models.QuerySet | None:
    """Records whose data of ``entries`` reaches the end of ``rule`` within ``days`` days from now."""
    clock = held.clock(rule.clock_starts)
    if clock is None:
        return None
    fields = [_field_of(entry, held.model) for entry in entries]
    queryset = with_clock(held.model.objects.all(), clock).filter(still_holds(held, fields)).filter(
        clock_start__gte=_bound(clock, shift(now, rule, -1)),
        clock_start__lt=_bound(clock, shift(now + timedelta(days=days), rule, -1)),
    )
    return with_hold(queryset, held)


def kept_until(held: HeldModel, rule: RetentionRule, subject_id: int) -> date | None:
    """When ``rule`` lets go of the subject's records of this model: None when a clock is not known.

    Every record must have a running clock; the last one to start decides.
    """
    clock = held.clock(rule.clock_starts)
    if clock is None:
        return None
    records = held.of_subject(subject_id)
    totals = records.aggregate(records=Count("pk"))
    timed = with_clock(records, clock).aggregate(timed=Count("pk"), latest=Max("clock_start"))
    if not totals["records"] or timed["timed"] < totals["records"]:
        return None
    return expires_on(timed["latest"], rule)


def holding(held: HeldModel, entry: PersonalDataField, subject_id: int) -> models.QuerySet:
    """The subject's records of this model that hold a value for ``entry``."""
    return held.of_subject(subject_id).filter(_has_value(_field_of(entry, held.model)))
