"""Audited writes about data subjects that cross models."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from shipex_privacy.audit.bulk import BatchRefused, record_save_many
from shipex_privacy.audit.events import AuditEvent
from shipex_privacy.audit.services import record_delete, record_save

from .intake import SubjectRules, erased_account_ids, erased_error, planned_writes, subject_from_payload, take_snapshot
from .models import Address, DataSubject, normalise_account_id


@transaction.atomic
def subject_register(*, subject: DataSubject, addresses: list[Address], actor, reason: str,
                     event: AuditEvent = AuditEvent.EDITED) -> DataSubject:
    """Register a subject with its addresses; every row's history names ``actor``, ``event`` and ``reason``."""
    record_save(instance=subject, actor=actor, event=event, reason=reason)
    for address in addresses:
        address.subject = subject
        record_save(instance=address, actor=actor, event=event, reason=reason)
    return subject


# --- many subjects at once: imports and back-fills --------------------------------------------------


@dataclass(frozen=True)
class RowOutcome:
    """What became of one row: ``created``, ``updated``, ``unchanged`` (nothing to write), ``refused``, or
    ``not_written`` (a good row of a batch that ``stop_on_refusal`` kept from writing)."""

    outcome: str
    account_id: str
    code: str = ""
    message: str = ""
    error: ValidationError | None = None


@dataclass
class UpsertReport:
    outcomes: list[RowOutcome] = field(default_factory=list)
    written: bool = True  # False when stop_on_refusal found a refusal: nothing of the batch was written

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.outcomes if row.outcome == outcome)

    @property
    def refused(self) -> list[tuple[int, RowOutcome]]:
        return [(index, row) for index, row in enumerate(self.outcomes) if row.outcome == REFUSED]


CREATED, UPDATED, UNCHANGED, REFUSED = "created", "updated", "unchanged", "refused"
NOT_WRITTEN = "not_written"  # stop_on_refusal: a good row of a batch that was not written


def describe_refusal(error: ValidationError) -> tuple[str, str]:
    """(first code, readable message naming each field) of a refusal."""
    if hasattr(error, "error_dict"):
        parts = [f"{name}: {' '.join(item.messages[0] for item in items)}" if name != NON_FIELD_ERRORS
                 else " ".join(item.messages[0] for item in items) for name, items in error.error_dict.items()]
        first = next(iter(error.error_dict.values()))[0]
        return first.code or "invalid", "; ".join(parts)
    return error.error_list[0].code or "invalid", " ".join(error.messages)


def _refused(account_id: str, error: ValidationError) -> RowOutcome:
    code, message = describe_refusal(error)
    return RowOutcome(REFUSED, account_id, code, message, error)


@dataclass
class _Planned:
    index: int
    account_id: str
    created: bool
    saves: list
    deletes: list


def _account_id_of(account_id, payload) -> str:
    if not isinstance(account_id, str):
        raise ValidationError({"account_id": [ValidationError(_("The account id is required."), code="required")]})
    try:
        normalised = normalise_account_id(account_id)
    except ValidationError as error:
        raise ValidationError({"account_id": error.error_list}) from None
    if not isinstance(payload, dict):
        raise ValidationError(_("Expected a JSON object describing the subject."), code="invalid_type")
    given = payload.get("account_id", account_id)
    try:
        same = isinstance(given, str) and normalise_account_id(given) == normalised
    except ValidationError:
        same = False
    if not same:
        raise ValidationError({"account_id": [ValidationError(
            _("The account id in the row differs from %(own)s."), code="account_id_mismatch",
            params={"own": normalised})]})
    return normalised


@transaction.atomic
def subjects_upsert_many(*, rows: Sequence[tuple[str, dict]], actor, reason: str,
                         event: AuditEvent = AuditEvent.IMPORTED, rules: SubjectRules | None = None,
                         stop_on_refusal: bool = False) -> UpsertReport:
    """Create or update many subjects (and their addresses) from systems' payloads, in one transaction.

    ``rows`` are ``(account_id, payload)``; each payload is the whole subject, as a PUT
    (``intake.subject_from_payload``). Existing subjects are read and locked in one query (in id
    order) and everything is written through ``audit.bulk.record_save_many``; a row that changes
    nothing writes nothing (``unchanged``). Each row's outcome is in the report, in the order given.
    A refused row (a bad payload; ``erased`` for an erased or anonymised subject) does not stop the
    others unless ``stop_on_refusal``: then nothing at all is written when a row is refused.
    A subject named twice is written twice, in order, as two PUTs would.
    """
    rules = rules or SubjectRules.load()
    outcomes: list[RowOutcome | None] = [None] * len(rows)
    wanted: dict[int, str] = {}
    for index, (account_id, payload) in enumerate(rows):
        try:
            wanted[index] = _account_id_of(account_id, payload)
        except ValidationError as error:
            outcomes[index] = _refused(str(account_id)[:40], error)
    # Segments in which each subject appears once; a repeated subject starts the next one.
    segments: list[list[int]] = [[]]
    seen: set[str] = set()
    for index, account_id in wanted.items():
        if account_id in seen:
            segments.append([])
            seen = set()
        seen.add(account_id)
        segments[-1].append(index)
    for segment in segments:
        planned = _plan(segment, wanted, rows, outcomes, rules)
        if stop_on_refusal and _any_refused(outcomes):
            break
        _write(planned, outcomes, actor, reason, event)
        if stop_on_refusal and _any_refused(outcomes):
            break
    if stop_on_refusal and _any_refused(outcomes):
        transaction.set_rollback(True)
        return UpsertReport([outcome or RowOutcome(NOT_WRITTEN, wanted.get(index, ""))
                             for index, outcome in enumerate(outcomes)], written=False)
    return UpsertReport(outcomes)


def _any_refused(outcomes) -> bool:
    return any(outcome is not None and outcome.outcome == REFUSED for outcome in outcomes)


def _plan(segment: list[int], wanted: dict[int, str], rows, outcomes: list, rules: SubjectRules) -> list[_Planned]:
    """Apply each payload to its subject in memory; the rows to write, or the row's outcome when none."""
    ids = {wanted[index] for index in segment}
    existing = {
        subject.account_id: subject for subject in
        DataSubject.objects.select_for_update().filter(account_id__in=ids).order_by("pk").prefetch_related("addresses")
    }
    erased_before = erased_account_ids(ids - set(existing))
    planned = []
    for index in segment:
        account_id = wanted[index]
        if account_id in erased_before:
            outcomes[index] = _refused(account_id, erased_error())
            continue
        subject = existing.get(account_id)
        snapshot = take_snapshot(subject)
        try:
            subject, addresses = subject_from_payload(rows[index][1], subject=subject, partial=False, rules=rules)
        except ValidationError as error:
            outcomes[index] = _refused(account_id, error)
            continue
        writes = planned_writes(snapshot, subject, addresses)
        if writes.nothing:
            outcomes[index] = RowOutcome(UNCHANGED, account_id)
            continue
        for address in writes.address_saves:
            address.subject = subject
        saves = ([subject] if writes.subject_changed else []) + writes.address_saves
        planned.append(_Planned(index, account_id, snapshot.subject is None, saves, writes.address_deletes))
    return planned


def _write(planned: list[_Planned], outcomes: list, actor, reason: str, event) -> None:
    """Write the planned rows; rows refused on the way (an erasure committed meanwhile) are marked and the rest
    written again without them."""
    while planned:
        deleted = [(row, row.pk) for item in planned for row in item.deletes]
        instances, owners = [], []
        for item in planned:
            instances += item.saves
            owners += [item] * len(item.saves)
        try:
            with transaction.atomic():
                for row, _pk in deleted:
                    record_delete(instance=row, actor=actor, event=event, reason=reason)
                # The erased-subject guard was applied by _plan, on the subjects' state read under their row
                # locks (as refuse_erased reads it), which this transaction still holds: it is not run per row
                # again. validate: subject_from_payload validated every value as record_save's full_clean would.
                record_save_many(instances=instances, actor=actor, reason=reason, event=event, validate=False,
                                 allow_erased=True)
        except BatchRefused as refusal:
            for row, pk in deleted:
                row.pk = pk  # delete() forgot it; the row is still there after the rollback
            refused = {id(owners[index]): refusal.errors[index] for index in refusal.errors}
            for item in planned:
                if id(item) in refused:
                    outcomes[item.index] = _refused(item.account_id, refused[id(item)])
            planned = [item for item in planned if id(item) not in refused]
            continue
        for item in planned:
            outcomes[item.index] = RowOutcome(CREATED if item.created else UPDATED, item.account_id)
        return
