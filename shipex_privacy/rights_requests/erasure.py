"""Catalogue-driven erasure (clause 1.5): what each catalogue entry's data becomes, and the report.

For every entry of the data catalogue, ``request_erase`` leaves one ``ErasureItem``:

* held in another system (no binding) → a task for that system's owner, ticked off one by one;
* under statutory retention → kept, with the legal reference and, when the clock is known here,
  the day it ends;
* in an append-only ledger (consent evidence) or in the records of requests themselves → kept
  under its retention rule: the database refuses to change the ledger, and the request must show
  how ShipEx answered;
* otherwise erased or anonymised in every record of the subject (retention/erasing.py), or
  "not held" when there was nothing. Erasing a mandatory entry closes the account.

Consents in force are withdrawn. Everything happens in one transaction, every history row names
the request, and a second call returns the first call's items without writing anything.

While a task is open the request waits ("waiting for other systems") and cannot close as done;
the last task ticked off, or a compliance officer's override with a reason, lets it close.
These are the only writes, with the erasure itself, to the records of the erased subject
(``allow_erased``).
"""

from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from shipex_privacy.audit.events import AuditEvent
from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.models import PersonalDataField, RetentionRule
from shipex_privacy.retention import erasing
from shipex_privacy.retention.models import LegalHold
from shipex_privacy.subjects.models import DataSubject

from .models import AccessPackage, ErasureItem, SubjectRequest
from .services import lock_request, lock_workable, systems_need_work, withdraw_consents_in_force

Outcome = ErasureItem.Outcome
TASK, KEPT, ERASE = "task", "kept", "erase"


def _route(entry: PersonalDataField) -> tuple[str, erasing.HeldModel | None]:
    """Whether an entry becomes a task, is kept, or is erased here."""
    if not entry.binding:
        return TASK, None
    try:
        model = entry.bound_model_field().model
    except LookupError:  # a broken binding (the system check names it): a person handles it
        return TASK, None
    held = erasing.held_model(model)
    # The requests' own records are the evidence of how ShipEx answered; an access package's file
    # is a copy of the subject's data and goes with it (its row keeps the SHA-256).
    if erasing.is_append_only(model) or (model._meta.app_label == SubjectRequest._meta.app_label
                                         and model is not AccessPackage):
        return KEPT, held
    if held is None:  # this back office cannot find the subject's records of it: a person does
        return TASK, None
    if entry.retention_rule.is_statutory:
        return KEPT, held
    return ERASE, held


def _refuse_held(subject_id: int) -> None:
    holds = list(LegalHold.objects.active().filter(subject_id=subject_id).order_by("placed_at", "id"))
    if holds:
        raise ValidationError(_("The subject's data is under a legal hold (%(holds)s); nothing can be erased "
                                "until the hold is released.") % {
            "holds": "; ".join(f"{hold.legal_reference}, {timezone.localtime(hold.placed_at):%d.%m.%Y}"
                               for hold in holds)})


def _erase(subject: DataSubject, groups: dict, *, actor, reason: str) -> dict[int, tuple[str, int]]:
    """Erase each group of entries from the subject's records; (outcome, records changed) per entry."""
    plans: dict[erasing.HeldModel, list[erasing.Plan]] = {}
    try:
        for held, entries in groups.items():
            records = [subject] if held.subject_path == "pk" else held.of_subject(subject.pk).order_by("pk")
            plans[held] = [erasing.plan_erasure(record, entries) for record in records]
    except erasing.ErasureImpossible as error:
        raise ValidationError(_("%(field)s cannot be erased: it can be neither emptied nor replaced; the data "
                                "catalogue needs correcting.") % {"field": error}) from None
    close = any(plan.erases_mandatory for group in plans.values() for plan in group)
    subject_plans = [plan for held, group in plans.items() if held.subject_path == "pk" for plan in group]
    try:
        # The subject first: once its account is closed, its mandatory fields may be empty.
        erasing.apply_plan(subject_plans[0] if subject_plans else erasing.Plan(subject), actor=actor,
                           event=AuditEvent.ERASURE, reason=reason, close_account=close)
        for group in plans.values():
            for plan in group:
                if plan and plan.instance is not subject:
                    erasing.apply_plan(plan, actor=actor, event=AuditEvent.ERASURE, reason=reason)
    except ProtectedError as error:
        raise ValidationError(_("A record cannot be deleted while other records point to it: %(records)s.") % {
            # Named by type and number only: the message must not carry the data being erased.
            "records": ", ".join(sorted({f"{obj._meta.verbose_name} #{obj.pk}" for obj in error.protected_objects}))
        }) from None
    results = {}
    for held, group in plans.items():
        for entry in groups[held]:
            outcomes = [plan.outcome(entry) for plan in group if plan.outcome(entry)]
            outcome = (Outcome.NOT_HELD if not outcomes else
                       Outcome.ANONYMISED if "anonymised" in outcomes else Outcome.ERASED)
            results[entry.pk] = (outcome, len(outcomes))
    return results


@transaction.atomic
def request_erase(*, request: SubjectRequest, actor) -> list[ErasureItem]:
    """Carry out an erasure request, entry by entry of the catalogue; see the module's docstring."""
    request = lock_workable(request, SubjectRequest.Kind.ERASURE)
    done = list(request.erasure_items.select_related("field", "system"))
    if done:
        return done  # already carried out: nothing more changes
    # Lock the subject before looking for holds: placing a hold locks it too, so the two never cross.
    subject = DataSubject.objects.select_for_update().get(pk=request.subject_id)
    _refuse_held(subject.pk)
    reason = _("Request #%(id)s: erasure (1.5)") % {"id": request.pk}
    withdraw_consents_in_force(request=request, subject=subject, actor=actor, reason=reason, now=timezone.now())

    entries = list(PersonalDataField.objects.select_related("retention_rule", "system").order_by("category", "code"))
    routes = {entry.pk: _route(entry) for entry in entries}
    groups = defaultdict(list)
    for entry in entries:
        route, held = routes[entry.pk]
        if route == ERASE:
            groups[held].append(entry)
    if systems := {entry.system for entry in entries if routes[entry.pk][0] == TASK}:
        # Before the erasure, while the account id the systems know the subject by is still here:
        # integrated systems are sent the erasure, the others' owners keep manual tasks.
        systems_need_work(request=request, actor=actor, systems=systems)
    erased = _erase(subject, groups, actor=actor, reason=reason)

    items = []
    for entry in entries:
        route, held = routes[entry.pk]
        rule = entry.retention_rule
        item = ErasureItem(request=request, field=entry, system=entry.system)
        if route == TASK:
            item.outcome = Outcome.TASK
        elif route == ERASE:
            item.outcome, item.rows = erased[entry.pk]
        elif held is not None and not erasing.holding(held, entry, subject.pk).exists():
            item.outcome = Outcome.NOT_HELD
        else:
            # Statutory: the law that keeps it. Otherwise the rule's code, which the report
            # names in the reader's language. Records we cannot look through are reported kept.
            item.outcome = Outcome.KEPT
            item.kept_under = rule.legal_reference if rule.is_statutory else rule.code
            item.kept_until = erasing.kept_until(held, rule, subject.pk) if held else None
        items.append(record_save(instance=item, actor=actor,
                                 event=AuditEvent.ERASURE, reason=reason, allow_erased=True))
    if any(item.is_open_task for item in items):
        request.status = SubjectRequest.Status.WAITING_SYSTEMS
        record_save(instance=request, actor=actor,
                    event=AuditEvent.ERASURE, reason=_("Request #%(id)s: waiting for other systems' owners") % {
            "id": request.pk}, allow_erased=True)
    return items


@transaction.atomic
def erasure_task_done(*, item: ErasureItem, actor, note: str = "") -> ErasureItem:
    """Tick off one task of an erasure: the system's owner has erased the data in their system."""
    request = lock_request(item.request)  # the request's state follows its tasks
    item = ErasureItem.objects.select_for_update().select_related("field", "system").get(pk=item.pk)
    if item.outcome != Outcome.TASK:
        raise ValidationError(_("“%(field)s” is not a task for a system's owner (%(outcome)s); there is nothing "
                                "to tick off.") % {"field": item.field.name,
                                                   "outcome": item.get_outcome_display().lower()})
    if item.task_done_at is not None:
        raise ValidationError(_("This task was already ticked off by %(who)s on %(date)s.") % {
            "who": item.task_done_by_username or _("system"),
            "date": f"{timezone.localtime(item.task_done_at):%d.%m.%Y}"})
    item.task_done_at = timezone.now()
    item.task_done_by_id = getattr(actor, "pk", None)
    item.task_done_by_username = actor.get_username() if actor else ""
    item.task_note = note.strip()
    record_save(instance=item, actor=actor,
                event=AuditEvent.ERASURE_TASK_DONE, reason=_("Request #%(id)s: %(field)s erased in %(system)s") % {
        "id": item.request_id, "field": item.field.name, "system": item.system.shown.name}, allow_erased=True)
    if request.status == SubjectRequest.Status.WAITING_SYSTEMS and not request.open_tasks().exists():
        request.status = SubjectRequest.Status.IN_PROGRESS
        record_save(instance=request, actor=actor,
                    event=AuditEvent.ERASURE_TASK_DONE, reason=_("Request #%(id)s: every task for other systems is "
                                                            "done") % {"id": request.pk}, allow_erased=True)
    return item


@transaction.atomic
def erasure_override_open_tasks(*, request: SubjectRequest, reason: str, actor) -> SubjectRequest:
    """A compliance officer lets an erasure close as done although tasks for other systems are still
    open, saying why (an owner who cannot be reached, a system switched off); the letter then says
    those tasks are passed on, not done. The tasks stay open to be ticked off later."""
    if not actor.has_perm("rights_requests.override_open_tasks"):
        raise ValidationError(_("Only a compliance officer may let an erasure close with open tasks."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Say why the request may close while these tasks are open."))
    request = lock_request(request)
    request.refuse_if_closed()
    if request.status != SubjectRequest.Status.WAITING_SYSTEMS or not request.open_tasks().exists():
        raise ValidationError(_("Request #%(id)s is not waiting for other systems; there is nothing to "
                                "override.") % {"id": request.pk})
    request.tasks_overridden_at = timezone.now()
    request.tasks_overridden_by_id, request.tasks_overridden_by_username = actor.pk, actor.get_username()
    request.tasks_override_reason = reason
    request.status = SubjectRequest.Status.IN_PROGRESS
    return record_save(instance=request, actor=actor,
                       event=AuditEvent.ERASURE_OVERRIDE, reason=_("Request #%(id)s: may close with %(count)s open "
                                                               "tasks: %(reason)s") % {
        "id": request.pk, "count": request.open_tasks().count(), "reason": reason}, allow_erased=True)


def _kept_line(item: ErasureItem, rules: dict[str, RetentionRule]) -> str:
    rule = rules.get(item.kept_under)
    under = _("the retention rule “%(rule)s”") % {"rule": rule.name} if rule else item.kept_under
    if item.kept_until:
        return _("%(field)s: kept under %(under)s until %(date)s") % {
            "field": item.field.name, "under": under, "date": f"{item.kept_until:%d.%m.%Y}"}
    rule = rule or item.field.retention_rule
    return _("%(field)s: kept under %(under)s (%(period)s; the clock starts %(clock)s)") % {
        "field": item.field.name, "under": under, "period": rule.period_display,
        "clock": rule.get_clock_starts_display()}


def erasure_report(request: SubjectRequest) -> list[str]:
    """The erasure's result, one line per catalogue entry, in the active language."""
    items = list(request.erasure_items.select_related("field__retention_rule", "system")
                 .order_by("field__category", "field__code"))
    rules = {rule.code: rule for rule in RetentionRule.objects.filter(
        code__in={item.kept_under for item in items if item.outcome == Outcome.KEPT})}
    lines = []
    for item in items:
        name = item.field.name
        if item.outcome == Outcome.KEPT:
            lines.append(_kept_line(item, rules))
        elif item.outcome == Outcome.TASK:
            owner = item.system.shown.owner
            if item.system.owner_email:
                owner = f"{owner} ({item.system.owner_email})"
            state = (_("done") if item.task_done_at else
                     _("passed on to the owner, not yet confirmed") if request.tasks_overridden else _("open"))
            lines.append(_("%(field)s: task for %(owner)s — %(state)s") % {
                "field": name, "owner": owner, "state": state})
        else:
            lines.append({
                Outcome.ERASED: _("%(field)s: erased"),
                Outcome.ANONYMISED: _("%(field)s: anonymised"),
                Outcome.NOT_HELD: _("%(field)s: not held"),
            }[item.outcome] % {"field": name})
    return lines


def _consent_lines(subject_id: int) -> list[str]:
    from shipex_privacy.consents.models import Consent

    consents = Consent.objects.filter(subject_id=subject_id).in_force().select_related("purpose")
    return [str(consent.purpose) for consent in consents.order_by("purpose__clause", "pk")]


def erasure_preview(request: SubjectRequest) -> list[tuple[str, list[str]]]:
    """What ``request_erase`` would do now, read without writing: what is erased, what is kept (under
    which law, until when), which consents are withdrawn and which tasks go to which systems."""
    subject_id = request.subject_id
    entries = list(PersonalDataField.objects.select_related("retention_rule", "system").order_by("category", "code"))
    erased, kept, tasks = [], [], []
    for entry in entries:  # systems and rules in the reader's language (their seeded uz/ru twins)
        route, held = _route(entry)
        rule = entry.retention_rule
        if route == TASK:
            owner = entry.system.shown.owner + (f" ({entry.system.owner_email})" if entry.system.owner_email else "")
            tasks.append(_("%(field)s: task for %(owner)s, owner of %(system)s") % {
                "field": entry.name, "owner": owner, "system": entry.system.shown.name})
        elif route == ERASE:
            erased.append(entry.name)
        elif held is None or erasing.holding(held, entry, subject_id).exists():
            under = rule.shown.legal_reference if rule.is_statutory else rule.shown.name
            until = erasing.kept_until(held, rule, subject_id) if held else None
            kept.append(_("%(field)s: kept under %(under)s until %(date)s") % {
                "field": entry.name, "under": under, "date": f"{until:%d.%m.%Y}"} if until else
                _("%(field)s: kept under %(under)s (%(period)s)") % {
                    "field": entry.name, "under": under, "period": rule.period_display})
    preview = [(_("Erased or anonymised here"), erased), (_("Kept"), kept),
               (_("Consents withdrawn"), _consent_lines(subject_id)),
               (_("Tasks for other systems' owners"), tasks)]
    holds = [f"{hold.legal_reference}, {timezone.localtime(hold.placed_at):%d.%m.%Y}"
             for hold in LegalHold.objects.active().filter(subject_id=subject_id).order_by("placed_at", "id")]
    if holds:
        preview.insert(0, (_("Refused while a legal hold is in force"), holds))
    return preview


def stop_preview(request: SubjectRequest) -> list[tuple[str, list[str]]]:
    """What ``request_stop_processing`` would do now, read without writing."""
    subject = DataSubject.objects.get(pk=request.subject_id)
    logged_out = ([_("%(subject)s is logged out of the ShipEx app") % {"subject": subject}]
                  if subject.status == DataSubject.Status.ACTIVE else [])
    return [(_("Logged out"), logged_out), (_("Consents withdrawn"), _consent_lines(subject.pk))]
