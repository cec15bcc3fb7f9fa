"""Audited writes of the retention app: legal holds, and the retention run (1.3.1).

``retention_apply`` takes each retention rule of the catalogue and each model with entries bound
under it, finds the records past the rule (the clock start from erasing's held-model registry, plus the
period, is before now) that still hold data of those entries, and erases only those entries'
fields: a passport under the statutory customs rule stays when the account rule ends.

* A record whose subject is under an active legal hold is left alone and counted as held.
* Append-only ledgers are never changed; their count row says so.
* Rules whose clock this back office does not hold (shipment delivered, last activity) are
  reported, not applied: the system that holds the clock applies them.
* Records go in batches (``batch_size``, read by keyset on their ids so memory stays flat), each
  batch in its own transaction through the bulk audited path (``erasing.apply_plans``): the same
  history rows and trail entries as one save per record, in a few statements. A batch that fails
  is rolled back and done again one record per transaction: a record that fails is left as it
  was, counted as failed and named in the run's error; the run goes on with the next one. The
  run is therefore not one transaction (unlike the other services here), on purpose.
* A dry run plans every record exactly as the run would, writes the run and its counts marked
  ``dry_run``, and changes no data.

History of a scheduled run: ``actor`` is the staff member who ran it (``--as``), or None; with
None the history rows name the system actor ``system:retention`` and every reason names the
run ("Retention run #7: rule account-3y expired (1.3.1)"), whose ``started_by`` says who or what
started it.
"""

import contextlib
import fcntl
import hashlib
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, models, transaction
from django.db.models import Count, ProtectedError, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from shipex_privacy.audit.bulk import record_save_many
from shipex_privacy.audit.events import AuditEvent, SystemActor
from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.models import PersonalDataField, RetentionRule
from shipex_privacy.subjects.models import DataSubject

from . import erasing
from .models import LegalHold, RetentionRun, RetentionRunCount

EXAMPLES = 5
MAX_ERRORS_KEPT = 20


def legal_hold_check(*, subject: DataSubject, reason: str, legal_reference: str) -> None:
    """Raise ValidationError when such a hold cannot be placed (the add form shows the same message)."""
    if not (reason or "").strip() or not (legal_reference or "").strip():
        raise ValidationError(_("A legal hold needs a reason and a legal reference."))
    if LegalHold.objects.active().filter(subject=subject, legal_reference=legal_reference.strip()).exists():
        raise ValidationError(_("%(subject)s is already under a legal hold for “%(reference)s”.") % {
            "subject": subject.account_id, "reference": legal_reference.strip()})


@transaction.atomic
def legal_hold_place(*, subject: DataSubject, reason: str, legal_reference: str, actor) -> LegalHold:
    """Stop retention runs and erasure requests from touching the subject's data until released."""
    # The same lock an erasure takes: a hold and an erasure of one subject never cross.
    subject = DataSubject.objects.select_for_update().get(pk=subject.pk)
    legal_hold_check(subject=subject, reason=reason, legal_reference=legal_reference)
    reason, legal_reference = reason.strip(), legal_reference.strip()
    hold = LegalHold(subject=subject, reason=reason, legal_reference=legal_reference,
                     placed_by_id=getattr(actor, "pk", None), placed_by_username=actor.get_username() if actor else "")
    return record_save(instance=hold, actor=actor,
                       event=AuditEvent.LEGAL_HOLD_PLACED, reason=_("Legal hold placed: %(reference)s") % {
        "reference": legal_reference})


@transaction.atomic
def legal_hold_release(*, hold: LegalHold, reason: str, actor) -> LegalHold:
    """End a legal hold; from now on the subject's data follows its retention rules again."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Say why the legal hold is released."))
    hold = LegalHold.objects.select_for_update().get(pk=hold.pk)
    if not hold.is_active:
        raise ValidationError(_("This legal hold was already released on %(date)s by %(who)s.") % {
            "date": f"{timezone.localtime(hold.released_at):%d.%m.%Y}",
            "who": hold.released_by_username or _("system")})
    hold.released_at = timezone.now()
    hold.released_by_id = getattr(actor, "pk", None)
    hold.released_by_username = actor.get_username() if actor else ""
    hold.release_reason = reason
    return record_save(instance=hold, actor=actor, event=AuditEvent.LEGAL_HOLD_RELEASED, reason=reason)


# --- The retention run --------------------------------------------------------------------------


@dataclass(eq=False)
class Work:
    """One rule applied to the records of one model: the entries under it and what it found."""

    rule: RetentionRule
    label: str
    entries: list[PersonalDataField]
    held: erasing.HeldModel | None = None
    note: str = ""
    queryset: models.QuerySet | None = None

    @property
    def applicable(self) -> bool:
        return not self.note


def works(*, now: datetime, expiring_days: int | None = None) -> list[Work]:
    """Every (rule, model) pair of the catalogue, with the records past (or nearing) the rule's end.

    Each applicable work gets ``queryset``: its records still holding data of its entries, with
    ``clock_start`` and ``on_hold`` annotated.
    """
    grouped: dict[tuple[int, str], Work] = {}
    entries = PersonalDataField.objects.exclude(binding="").select_related("retention_rule").order_by(
        "retention_rule__code", "binding")
    for entry in entries:
        label = ".".join(entry.binding.split(".")[:2])
        work = grouped.setdefault((entry.retention_rule_id, label), Work(entry.retention_rule, label, []))
        work.entries.append(entry)
    result = []
    for work in grouped.values():
        try:
            model = work.entries[0].bound_model_field().model
        except LookupError:
            work.note = _("The catalogue binds %(binding)s, which is not a field of this back office.") % {
                "binding": work.entries[0].binding}
            result.append(work)
            continue
        work.held = erasing.held_model(model)
        clock = work.held.clock(work.rule.clock_starts) if work.held else None
        if work.held is None:
            work.note = _("This back office cannot tell whose these records are or when their clock starts.")
        elif clock is None:
            work.note = _("The clock (%(clock)s) is not held in this back office; the system that holds it "
                          "applies the rule.") % {"clock": work.rule.get_clock_starts_display()}
        if clock is not None:
            if expiring_days is None:
                work.queryset = erasing.expired(work.held, work.rule, work.entries, now=now)
            else:
                work.queryset = erasing.expiring(work.held, work.rule, work.entries, now=now, days=expiring_days)
        if erasing.is_append_only(model):
            # Counted (when the clock is known) so the compliance team sees what the rule cannot reach.
            work.note = _("Append-only ledger: the database refuses any change, so it is kept.")
        result.append(work)
    return result


def _reason(run: RetentionRun, rule: RetentionRule) -> str:
    return _("Retention run #%(run)s: rule %(rule)s expired (1.3.1)") % {"run": run.pk, "rule": rule.code}


def _apply_one(work: Work, pk, *, run: RetentionRun, count: RetentionRunCount, dry_run: bool, actor,
               errors: list[str]) -> bool:
    """Erase one record's data under the work's rule, in its own transaction; True when it changed."""
    try:
        with transaction.atomic():
            instance = work.held.model.objects.filter(pk=pk).first()
            if instance is None:
                return False  # deleted since the batch was read
            subject_id = work.held.subject_id_of(instance)
            if subject_id:
                # The subject first, as every save of its records locks it (record_save's guard) and as
                # legal_hold_place does: a hold, an agent's save and this erasure never cross or deadlock.
                DataSubject.objects.select_for_update().filter(pk=subject_id).first()
            # Then the record itself, re-read under its lock: a save that committed meanwhile is erased too.
            instance = work.held.model.objects.select_for_update().filter(pk=pk).first()
            if instance is None:
                return False
            if subject_id and LegalHold.objects.active().filter(subject_id=subject_id).exists():
                count.held += 1  # placed since the records were counted
                return False
            plan = erasing.plan_erasure(instance, work.entries)
            if not plan:
                return False
            if not dry_run:
                erasing.apply_plan(plan, actor=actor,
                                   event=AuditEvent.RETENTION_APPLIED, reason=_reason(run, work.rule),
                                   close_account=plan.erases_mandatory)
    except Exception as error:  # one record's failure must not stop the others
        count.failed += 1
        errors.append(f"{work.label} #{pk} ({work.rule.code}): {_describe(error)}")
        return False
    if _anonymises(plan, work.rule):
        count.anonymised += 1
    else:
        count.deleted += 1
    return True


def _anonymises(plan: erasing.Plan, rule: RetentionRule) -> bool:
    """Whether the run counts ``plan`` as anonymised (else deleted)."""
    return not plan.delete_row and (plan.anonymised or rule.end_action == RetentionRule.EndAction.ANONYMISE)


@dataclass
class Tally:
    """What one batch did, added to the run's count only once the batch has committed."""

    held: int = 0
    deleted: int = 0
    anonymised: int = 0
    changed: list = field(default_factory=list)


def _erase_batch(work: Work, pks: list, *, run: RetentionRun, dry_run: bool, actor) -> Tally:
    """Erase a batch of records under the work's rule in the caller's transaction (see ``_apply_batch``)."""
    held, model, tally = work.held, work.held.model, Tally()
    if held.subject_path == "pk":
        owners = {pk: pk for pk in pks}
    elif held.subject_path:
        owners = dict(model.objects.filter(pk__in=pks).values_list("pk", held.subject_path))
    else:
        owners = {}
    subject_ids = sorted({subject_id for subject_id in owners.values() if subject_id})
    if subject_ids and held.subject_path != "pk":  # subjects themselves are locked just below, as the records
        # The subjects first, in id order, as every save of their records locks them (record_save's
        # guard) and as legal_hold_place does: a hold, an agent's save and this erasure never cross
        # or deadlock.
        list(DataSubject.objects.select_for_update().filter(pk__in=subject_ids).order_by("pk")
             .values_list("pk", flat=True))
    # Then the records themselves, re-read under their locks: a save that committed meanwhile is erased too.
    instances = list(model.objects.select_for_update().filter(pk__in=pks).order_by("pk"))
    on_hold = set(LegalHold.objects.active().filter(subject_id__in=subject_ids).values_list(
        "subject_id", flat=True)) if subject_ids else set()
    plans = []
    for instance in instances:  # a record deleted since the batch was read is simply not there
        if owners.get(instance.pk) in on_hold:
            tally.held += 1  # placed since the records were counted
            continue
        plan = erasing.plan_erasure(instance, work.entries)
        if plan:
            plans.append(plan)
    for plan in plans:
        if _anonymises(plan, work.rule):
            tally.anonymised += 1
        else:
            tally.deleted += 1
        tally.changed.append(plan.instance.pk)  # before the write: a deleted record has no pk after it
    if not dry_run and plans:
        erasing.apply_plans(plans, actor=actor, event=AuditEvent.RETENTION_APPLIED, reason=_reason(run, work.rule),
                            close_accounts=True)
    return tally


def _apply_batch(work: Work, pks: list, *, run: RetentionRun, count: RetentionRunCount, dry_run: bool, actor,
                 errors: list[str]) -> list:
    """Erase a batch of records in one transaction; the pks of those that changed.

    Should the batch fail (a record the database or a validation refuses, a lock that times out),
    nothing of it stays and each of its records is done again in its own transaction
    (``_apply_one``), so that only the failing ones are left unchanged and named.
    """
    try:
        with transaction.atomic():
            tally = _erase_batch(work, pks, run=run, dry_run=dry_run, actor=actor)
    except Exception:
        return [pk for pk in pks
                if _apply_one(work, pk, run=run, count=count, dry_run=dry_run, actor=actor, errors=errors)]
    count.held += tally.held
    count.deleted += tally.deleted
    count.anonymised += tally.anonymised
    return tally.changed


# Who may be named in history as having erased data under the retention rules: whoever keeps them.
RUN_PERMISSION = "catalogue.change_retentionrule"
# The key of the PostgreSQL advisory lock held for a whole run ("shipex retention" in ASCII).
RUN_LOCK_KEY = 0x7368697065787274
_RUN_LOCK_IN_PROCESS = threading.Lock()


def may_apply_retention(user) -> bool:
    return bool(user is not None and user.is_active and user.is_staff and user.has_perm(RUN_PERMISSION))


@contextlib.contextmanager
def run_lock():
    """Held for a whole run, so that only one runs at a time; raises ValidationError when taken.

    The database (PostgreSQL: a session advisory lock) or the operating system (SQLite: a lock on
    a file) releases it when the process dies, so a run still marked ``running`` while the lock is
    free has died.
    """
    refused = ValidationError(_("Another retention run is in progress; nothing was done. Try again when it "
                                "has finished."), code="run_in_progress")
    if not _RUN_LOCK_IN_PROCESS.acquire(blocking=False):
        raise refused
    try:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [RUN_LOCK_KEY])
                if not cursor.fetchone()[0]:
                    raise refused
            try:
                yield
            finally:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [RUN_LOCK_KEY])
        elif connection.vendor == "sqlite" and not connection.is_in_memory_db():
            name = hashlib.sha256(str(Path(connection.settings_dict["NAME"]).resolve()).encode()).hexdigest()[:16]
            with open(Path(tempfile.gettempdir()) / f"shipex-retention-{name}.lock", "w") as lock_file:
                try:
                    fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise refused from None
                yield  # closing the file (or the process dying) releases the lock
        else:
            yield  # an in-memory database: no other process can see it
    finally:
        _RUN_LOCK_IN_PROCESS.release()


def _reasons(run: RetentionRun, rule: RetentionRule) -> set[str]:
    """The history reason of ``run`` under ``rule`` in every language a run may have written it in."""
    reasons = set()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            reasons.add(_reason(run, rule))
    return reasons


def _counts_from_history(run: RetentionRun, *, now: datetime) -> tuple[list[RetentionRunCount], datetime]:
    """What a run that died had done, per rule and model, read from the history rows that name it;
    and the moment of the last of them."""
    counts, last = [], run.started_at
    for work in works(now=now):
        if not work.applicable:
            continue  # a run never touches these records
        rows = work.held.model.history.filter(history_date__gte=run.started_at,
                                              history_change_reason__in=_reasons(run, work.rule))
        deleted = anonymised = 0
        for row in rows.order_by("history_id").iterator(chunk_size=500):
            last = max(last, row.history_date)
            if row.history_type == "-":
                deleted += 1
                continue
            previous = row.prev_record
            replaced = previous is not None and any(
                change.new not in (None, "") for change in row.diff_against(previous).changes)
            if replaced or work.rule.end_action == RetentionRule.EndAction.ANONYMISE:
                anonymised += 1
            else:
                deleted += 1
        if deleted or anonymised:
            counts.append(RetentionRunCount(
                run=run, rule=work.rule, model=work.label, expired=deleted + anonymised, deleted=deleted,
                anonymised=anonymised, note=_("Counted from history: the run was interrupted.")))
    return counts, last


def _mark_interrupted(*, actor, now: datetime) -> list[RetentionRun]:
    """Runs still marked running while this one holds the run lock died: say so, with what they did."""
    dead = []
    for run in RetentionRun.objects.filter(status=RetentionRun.Status.RUNNING).order_by("pk"):
        with transaction.atomic():
            run = RetentionRun.objects.select_for_update().get(pk=run.pk)
            counts, last = _counts_from_history(run, now=now)
            known = set(run.counts.values_list("rule_id", "model"))
            for count in counts:
                if (count.rule_id, count.model) not in known:
                    record_save(instance=count, actor=actor, event=AuditEvent.RETENTION_RUN, reason=_reason_run(run))
            run.status, run.finished_at = RetentionRun.Status.INTERRUPTED, last
            run.error = _("The run stopped before it finished (the process was killed or the machine went "
                          "down). Its counts are read from the history rows that name it.")
            record_save(instance=run, actor=actor,
                        event=AuditEvent.RETENTION_RUN, reason=_("Retention run #%(run)s interrupted; found by the "
                                                             "next run") % {"run": run.pk})
        dead.append(run)
    return dead


# A scheduled run acts for nobody in particular: history names it "system:retention" (and the run).
RETENTION_ACTOR = SystemActor("retention")


def retention_apply(*, dry_run: bool, started_by: str, actor=None, batch_size: int = 1000,
                    now: datetime | None = None,
                    progress: Callable[[int, int], None] | None = None) -> RetentionRun:
    """Apply every retention rule of the catalogue (see the module's docstring); returns the run.

    One run at a time (``run_lock``); a run it finds still marked running has died and is marked
    interrupted first, with the counts its history shows.
    """
    if batch_size < 1:
        raise ValidationError(_("A batch holds at least one record."))
    if actor is not None and not may_apply_retention(actor):
        raise ValidationError(_("%(user)s may not erase data under the retention rules: only staff who keep "
                                "the rules may (%(permission)s). Nothing was done.") % {
            "user": actor.get_username(), "permission": RUN_PERMISSION}, code="not_allowed")
    actor = actor or RETENTION_ACTOR
    with run_lock():
        now = now or timezone.now()
        _mark_interrupted(actor=actor, now=now)
        return _apply(dry_run=dry_run, started_by=started_by, actor=actor, batch_size=batch_size, now=now,
                      progress=progress)


def _apply(*, dry_run: bool, started_by: str, actor, batch_size: int, now: datetime,
           progress: Callable[[int, int], None] | None) -> RetentionRun:
    run = record_save(instance=RetentionRun(dry_run=dry_run, started_by=started_by), actor=actor,
                      event=AuditEvent.RETENTION_RUN,
                      reason=_("Dry run of the retention rules") if dry_run else _("Retention rules applied"))
    errors: list[str] = []
    counts: dict[Work, RetentionRunCount] = {}
    try:
        todo = works(now=now)
        for work in todo:
            count = counts[work] = RetentionRunCount(run=run, rule=work.rule, model=work.label, note=work.note)
            if work.queryset is not None:
                totals = work.queryset.aggregate(expired=Count("pk"), held=Count("pk", filter=Q(on_hold=True)))
                count.expired, count.held = totals["expired"], totals["held"]
        total = sum(counts[work].expired - counts[work].held for work in todo if work.applicable)
        done = 0
        if progress:
            progress(done, total)
        for work in todo:
            if not work.applicable:
                continue
            count, examples, last = counts[work], [], None
            while True:
                batch = work.queryset.filter(on_hold=False).order_by("pk")
                if last is not None:
                    batch = batch.filter(pk__gt=last)
                pks = list(batch.values_list("pk", flat=True)[:batch_size])
                if not pks:
                    break
                last = pks[-1]
                changed = _apply_batch(work, pks, run=run, count=count, dry_run=dry_run, actor=actor,
                                       errors=errors)
                examples += [f"#{pk}" for pk in changed[:EXAMPLES - len(examples)]]
                done += len(pks)
                if progress:
                    progress(min(done, total), total)
            count.examples = ", ".join(examples)
            if count.failed:
                count.note = _("%(count)s records failed and were left unchanged; see the run's error.") % {
                    "count": count.failed}
        _save_counts(run, counts.values(), actor=actor)
    except Exception as error:
        # Records already done stay done (each had its own transaction): keep what was counted.
        errors.append(_describe(error))
        with contextlib.suppress(Exception):
            _save_counts(run, counts.values(), actor=actor)
        _finish(run, errors, actor=actor)
        raise
    return _finish(run, errors, actor=actor)


def _describe(error: Exception) -> str:
    """What went wrong, for the run's error: never the data itself (objects only by type and number)."""
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    if isinstance(error, ProtectedError):
        return _("still referenced by %(records)s") % {"records": ", ".join(sorted(
            f"{obj._meta.label} #{obj.pk}" for obj in error.protected_objects))}
    if isinstance(error, DatabaseError):
        return type(error).__name__  # the database's own text may quote the row's values
    return f"{type(error).__name__}: {error}"


def _save_counts(run: RetentionRun, counts, *, actor) -> None:
    """The run's counts, each with its history row, in a few statements (one save each would take ~10)."""
    unsaved = [count for count in counts if count.pk is None]
    if unsaved:
        record_save_many(instances=unsaved, actor=actor, event=AuditEvent.RETENTION_RUN, reason=_reason_run(run))


def _reason_run(run: RetentionRun) -> str:
    return _("Retention run #%(run)s: counts") % {"run": run.pk}


def _finish(run: RetentionRun, errors: list[str], *, actor) -> RetentionRun:
    run.finished_at = timezone.now()
    run.status = RetentionRun.Status.FAILED if errors else RetentionRun.Status.FINISHED
    shown = errors[:MAX_ERRORS_KEPT]
    if len(errors) > len(shown):
        shown.append(_("… and %(count)s more.") % {"count": len(errors) - len(shown)})
    run.error = "\n".join(shown)
    return record_save(instance=run, actor=actor,
                       event=AuditEvent.RETENTION_RUN, reason=_("Retention run #%(run)s finished") % {"run": run.pk}
                       if not errors else _("Retention run #%(run)s: %(count)s errors") % {
                           "run": run.pk, "count": len(errors)})
