"""Audited writes of data-subject requests: receive, match, verify, move, extend, pause, assign.

Each function validates first and writes nothing when it refuses; each write names the acting
staff member and why, in one transaction with the change.
"""

import math
from collections.abc import Callable
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shipex_privacy.audit.events import AuditEvent
from shipex_privacy.audit.services import record_save
from shipex_privacy.consents.models import Consent
from shipex_privacy.consents.services import Evidence, consent_withdraw
from shipex_privacy.subjects.models import Address, DataSubject

from .models import DeadlineChange, DeadlineRule, SubjectRequest, add_days, end_of_day

# Work in other ShipEx systems. Another app (integrations) registers, in its AppConfig.ready(), what
# to do when a request needs work in other systems (write an outbox message for each integrated one)
# and what "done" still waits for (their answers); this app knows nothing of webhooks.
SYSTEM_WORK: list[Callable[..., None]] = []  # called (request=, actor=, systems=) in the caller's transaction
DONE_WAITS_FOR: list[Callable[[SubjectRequest], str]] = []  # why the request cannot close as done yet, or ""


def systems_need_work(*, request: SubjectRequest, actor, systems=None) -> None:
    """``request`` needs work in other systems (``systems``: only those; None: every system that handles
    its kind). Runs inside the caller's transaction, so the request change and the messages it causes
    commit or roll back together."""
    for handler in SYSTEM_WORK:
        handler(request=request, actor=actor, systems=systems)


def other_work_missing(request: SubjectRequest) -> str:
    """What other systems have not done yet for ``request`` (empty when nothing)."""
    return next((missing for check in DONE_WAITS_FOR if (missing := check(request))), "")


def lock_request(request: SubjectRequest) -> SubjectRequest:
    """The request re-read under a row lock: two steps on one request never interleave."""
    return SubjectRequest.objects.select_for_update().get(pk=request.pk)


def lock_workable(request: SubjectRequest, *kinds: str) -> SubjectRequest:
    """The request locked, refused unless its work for ``kinds`` may be carried out now."""
    request = lock_request(request)
    request.refuse_unless_workable(*kinds)
    return request


def _rule(kind: str) -> DeadlineRule:
    try:
        return DeadlineRule.objects.get(kind=kind)
    except DeadlineRule.DoesNotExist:
        raise ValidationError(_("There is no deadline rule for “%(kind)s”; the compliance team must add one.")
                              % {"kind": kind}) from None


def _open_original(request: SubjectRequest) -> SubjectRequest | None:
    """The earliest other open request of the same kind for the same subject, if any."""
    if request.subject_id is None:
        return None
    return (SubjectRequest.objects.open().filter(subject_id=request.subject_id, kind=request.kind)
            .exclude(pk=request.pk).order_by("received_at", "id").first())


@transaction.atomic
def request_receive(
    *, kind: str, channel: str, actor, received_at: datetime | None = None, requester_name: str = "",
    requester_contact: str = "", details: str = "", subject: DataSubject | None = None,
    response_language: str = "", reason: str = "",
) -> SubjectRequest:
    """Record a request as it arrived; its deadline comes from the deadline table, fixed now.

    The response goes out in ``response_language`` if the requester chose one, else the subject's.
    """
    received_at = received_at or timezone.now()
    if received_at > timezone.now():
        raise ValidationError(_("A request cannot be received in the future."))
    rule, refusal = _rule(kind), DeadlineRule.objects.filter(kind=DeadlineRule.REFUSAL).first()
    request = SubjectRequest(
        response_language=response_language or (subject.preferred_language if subject else ""),
        kind=kind, channel=channel, received_at=received_at, requester_name=requester_name,
        requester_contact=requester_contact, details=details, subject=subject,
        due_at=rule.due_at(received_at), day_count=rule.day_count,
        refuse_by=refusal.due_at(received_at) if refusal else None,
    )
    request.duplicate_of = _open_original(request)
    return record_save(instance=request, actor=actor,
                       event=AuditEvent.REQUEST_RECEIVED, reason=reason or _("Received via %(channel)s") % {
        "channel": request.get_channel_display()})


@transaction.atomic
def request_receive_in_app(*, kind: str, subject: DataSubject, actor, language: str = "", details: str = "",
                           reason: str = "") -> SubjectRequest:
    """A request the subject made in a ShipEx app while signed in (channel ``app``): the app's session
    vouches for the identity, so the request is verified at once (``APP_LOGIN``), by ``actor`` — the
    app's API client, whose name the verification's history carries.

    The subject row is locked first, so two requests of one kind sent at once are received one after
    the other and the second is flagged as the first's duplicate. An erased or anonymised subject
    asks nothing through an app: refused with the code ``erased``.
    """
    subject = DataSubject.objects.select_for_update().get(pk=subject.pk)
    if subject.is_erased:
        raise ValidationError(_("The data of this subject was erased or anonymised; a request cannot come "
                                "from its account. Nothing was saved."), code="erased")
    request = request_receive(kind=kind, channel=SubjectRequest.Channel.APP, actor=actor, subject=subject,
                              requester_contact=subject.account_id, details=details, response_language=language,
                              reason=reason)
    return request_verify_identity(request=request, method=SubjectRequest.IdentityMethod.APP_LOGIN, actor=actor)


def subjects_matching(term: str):
    """Subjects a request may belong to: by phone, e-mail, account id or PINFL (indexed lookups)."""
    return DataSubject.objects.search(term)


@transaction.atomic
def request_match_subject(*, request: SubjectRequest, term: str, actor) -> SubjectRequest:
    """Link the request to the one subject found by ``term``; refuses none or several."""
    request = lock_request(request)
    request.refuse_if_closed()
    if request.identity_verified:
        raise ValidationError(_("The identity is already verified for this subject; the match cannot change."))
    found = list(subjects_matching(term)[:2])
    if not found:
        raise ValidationError(_("No subject matches “%(term)s”.") % {"term": term})
    if len(found) > 1:
        raise ValidationError(_("Several subjects match “%(term)s”; search by account id or PINFL.") % {
            "term": term})
    request.subject = found[0]
    request.response_language = request.subject.preferred_language
    request.duplicate_of = _open_original(request)
    return record_save(instance=request, actor=actor,
                       event=AuditEvent.REQUEST_MATCHED, reason=_("Matched to subject %(account)s") % {
        "account": request.subject.account_id})


@transaction.atomic
def request_verify_identity(*, request: SubjectRequest, method: str, actor) -> SubjectRequest:
    request = lock_request(request)
    request.refuse_if_closed()
    if request.subject_id is None:
        raise ValidationError(_("Match the request to a subject before verifying the requester's identity."))
    if request.identity_verified:
        raise ValidationError(_("The identity was already verified by %(who)s.") % {
            "who": request.identity_verified_by_username})
    if method not in SubjectRequest.IdentityMethod.values:
        raise ValidationError(_("Say how the identity was verified."))
    request.identity_method = method
    request.identity_verified_by_id, request.identity_verified_by_username = actor.pk, actor.get_username()
    request.identity_verified_at = timezone.now()
    record_save(instance=request, actor=actor, event=AuditEvent.REQUEST_VERIFIED,
                reason=_("Identity verified: %(method)s") % {"method": request.get_identity_method_display()})
    if request.kind == SubjectRequest.Kind.ACCESS:
        systems_need_work(request=request, actor=actor)  # their parts of the package
    return request


@transaction.atomic
def request_verify_and_start(*, request: SubjectRequest, method: str, actor) -> SubjectRequest:
    """Record the identity check and move the request on to *in progress* (through *verifying
    identity* if it was new): the check is what the work was waiting for. A request already past
    that stays where it is."""
    request = request_verify_identity(request=request, method=method, actor=actor)
    for status in (SubjectRequest.Status.VERIFYING, SubjectRequest.Status.IN_PROGRESS):
        if request.can_move_to(status):
            request = request_move(request=request, status=status, actor=actor)
    return request


@transaction.atomic
def request_move(*, request: SubjectRequest, status: str, actor, response_text: str | None = None,
                 note: str = "") -> SubjectRequest:
    """Move the request along its workflow; anything the workflow does not allow is refused."""
    request = lock_request(request)
    if status not in SubjectRequest.Status.values:
        raise ValidationError(_("“%(status)s” is not a request status.") % {"status": status})
    target = SubjectRequest.Status(status)
    if not request.can_move_to(target):
        raise ValidationError(_("Request #%(id)s is %(current)s; it cannot move to “%(target)s”.") % {
            "id": request.pk, "current": request.get_status_display().lower(), "target": target.label})
    if target in SubjectRequest.NEEDS_IDENTITY and not request.identity_verified:
        raise ValidationError(_("Verify the requester's identity before working on the request."))
    if response_text is not None:
        request.response_text = response_text
    if target in SubjectRequest.CLOSED:
        if not request.response_text.strip():
            raise ValidationError(_("Write the response to the subject before closing the request."))
        if target == SubjectRequest.Status.DONE and (missing := request.work_missing() or other_work_missing(request)):
            raise ValidationError(missing)
        request.closed_at = timezone.now()
        request.paused_at = None
    request.status = target
    # An erasure request outlives the erasure of its subject: closing it is the erasure's last step.
    return record_save(instance=request, actor=actor,
                       event=AuditEvent.REQUEST_MOVED, reason=note.strip() or _("Moved to “%(status)s”") % {
        "status": target.label}, allow_erased=request.kind == SubjectRequest.Kind.ERASURE)


def _deadline_change(request, kind, *, actor, reason, due_before, days=0, **fields) -> DeadlineChange:
    return record_save(instance=DeadlineChange(
        request=request, kind=kind, days=days, reason=reason, due_before=due_before, due_after=request.due_at,
        by_id=actor.pk, by_username=actor.get_username(), **fields,
    ), actor=actor, event=AuditEvent.REQUEST_DEADLINE, reason=reason)


def _reason(reason: str, message) -> str:
    if not (reason or "").strip():
        raise ValidationError(message)
    return reason.strip()


@transaction.atomic
def request_extend(*, request: SubjectRequest, days: int, reason: str, actor) -> SubjectRequest:
    """Move the deadline ``days`` later, counted as the request's deadline is counted, and draft the
    letter that tells the subject why.

    The request's deadline rule says how many days in all an agent may extend it; beyond that the
    extension is approved by a compliance officer, who makes it (``extend_beyond_rule``)."""
    # Imported here: the responses build on the erasure, which builds on this module.
    from .responses import extension_letter

    reason = _reason(reason, _("Say why the deadline is extended."))
    request = lock_request(request)
    request.refuse_if_closed()
    if days < 1:
        raise ValidationError(_("An extension is at least one day."))
    rule = DeadlineRule.objects.filter(kind=request.kind).first()
    allowed = rule.extension_days if rule else 0
    total = request.extended_days() + days
    beyond = total > allowed
    if beyond and not actor.has_perm("rights_requests.extend_beyond_rule"):
        raise ValidationError(_(
            "A request of this kind may be extended by %(allowed)s days in all; with this extension it would be "
            "%(total)s. A longer extension is approved by a compliance officer: ask one to extend it."
        ) % {"allowed": allowed, "total": total})
    before = request.due_at
    request.due_at = end_of_day(add_days(timezone.localdate(before), days, request.day_count))
    record_save(instance=request, actor=actor, event=AuditEvent.REQUEST_DEADLINE, reason=reason)
    _deadline_change(request, DeadlineChange.Kind.EXTENSION, actor=actor, reason=reason, due_before=before, days=days,
                     beyond_rule=beyond, letter=extension_letter(request, reason=reason))
    return request


@transaction.atomic
def request_pause(*, request: SubjectRequest, reason: str, actor) -> SubjectRequest:
    """Stop the clock (e.g. a legal hold); the request is neither overdue nor due soon while paused."""
    reason = _reason(reason, _("Say why the request is paused."))
    request = lock_request(request)
    request.refuse_if_closed()
    if request.paused_at:
        raise ValidationError(_("The request is already paused."))
    request.paused_at = timezone.now()
    record_save(instance=request, actor=actor, event=AuditEvent.REQUEST_DEADLINE, reason=reason)
    _deadline_change(request, DeadlineChange.Kind.PAUSE, actor=actor, reason=reason, due_before=request.due_at)
    return request


@transaction.atomic
def request_resume(*, request: SubjectRequest, reason: str, actor) -> SubjectRequest:
    """Restart the clock; the deadline moves by the whole calendar days the request was paused."""
    reason = _reason(reason, _("Say why the request resumes."))
    request = lock_request(request)
    request.refuse_if_closed()
    if not request.paused_at:
        raise ValidationError(_("The request is not paused."))
    before = request.due_at
    days = math.ceil((timezone.now() - request.paused_at) / timedelta(days=1))
    request.due_at, request.paused_at = before + timedelta(days=days), None
    record_save(instance=request, actor=actor, event=AuditEvent.REQUEST_DEADLINE, reason=reason)
    _deadline_change(request, DeadlineChange.Kind.RESUME, actor=actor, reason=reason, due_before=before, days=days)
    return request


@transaction.atomic
def request_assign(*, request: SubjectRequest, assignee, actor) -> SubjectRequest:
    """Give the request to ``assignee`` (None: back to the unassigned queue)."""
    request = lock_request(request)
    request.refuse_if_closed()
    if assignee is not None and not (assignee.is_active and assignee.has_perm("rights_requests.change_subjectrequest")):
        raise ValidationError(_("%(user)s cannot work on requests.") % {"user": assignee.get_username()})
    new_id = assignee.pk if assignee else None
    if request.assignee_id == new_id:
        return request  # nothing changes: no history row
    request.assignee_id, request.assignee_username = new_id, assignee.get_username() if assignee else ""
    return record_save(instance=request, actor=actor,
                       event=AuditEvent.REQUEST_ASSIGNED, reason=_("Assigned to %(user)s") % {
        "user": request.assignee_username} if assignee else _("Unassigned"))


# Consent channels the request channels map to: the withdrawal says how the subject asked.
# A request's channel as the consent ledger names it; the office is the rest's fallback.
CONSENT_CHANNEL = {"app": "app", "web": "web", "phone": "call_centre", "email": "email", "letter": "letter",
                   "office": "office"}


def _evidence(request: SubjectRequest) -> Evidence:
    return Evidence(channel=CONSENT_CHANNEL.get(request.channel, "office"), reference=f"DSR #{request.pk}")


def withdraw_consents_in_force(*, subject: DataSubject, actor, reason: str, now: datetime,
                               request: SubjectRequest | None = None, evidence: Evidence | None = None) -> int:
    """Withdraw, from ``now``, every consent of the subject in force; how many.

    The ledger events name ``request`` when a request asked for it (stop processing, erasure), or
    carry ``evidence`` when the subject did it elsewhere (a log-out in the app). Used inside the
    caller's transaction.
    """
    if evidence is None:
        if request is None:
            raise ValueError("withdraw_consents_in_force needs a request or evidence")
        evidence = _evidence(request)
    withdrawn = 0
    for consent in Consent.objects.filter(subject=subject).in_force(now):
        consent_withdraw(consent=consent, occurred_at=now, evidence=evidence, actor=actor, note=reason)
        withdrawn += 1
    return withdrawn


@transaction.atomic
def subject_stop_processing(*, subject: DataSubject, actor, reason: str, event: AuditEvent, now: datetime,
                            request: SubjectRequest | None = None, evidence: Evidence | None = None) -> int:
    """Stop processing for the subject (1.5.2): logged out if active, every consent in force withdrawn
    from ``now``; how many were withdrawn. The subject row is locked first, as a grant locks it.

    The consent events' evidence names ``request`` or is ``evidence`` (default: the ShipEx app, where a
    subject logs out by themselves).
    """
    subject = DataSubject.objects.select_for_update().get(pk=subject.pk)
    if evidence is None and request is None:
        evidence = Evidence(channel=CONSENT_CHANNEL["app"])
    if subject.status == DataSubject.Status.ACTIVE:
        subject.status, subject.status_changed_at = DataSubject.Status.LOGGED_OUT, now
        record_save(instance=subject, actor=actor, event=event, reason=reason)
    return withdraw_consents_in_force(subject=subject, actor=actor, reason=reason, now=now,
                                      request=request, evidence=evidence)


@transaction.atomic
def request_stop_processing(*, request: SubjectRequest, actor) -> SubjectRequest:
    """Carry out a stop / log-out request (1.5.2): the subject is logged out and every consent in
    force is withdrawn from now on, each step naming the request in its history."""
    request = lock_workable(request, SubjectRequest.Kind.STOP)
    reason = _("Request #%(id)s: processing stopped (1.5.2)") % {"id": request.pk}
    withdrawn = subject_stop_processing(subject=request.subject, actor=actor, reason=reason,
                                        event=AuditEvent.REQUEST_STOP, now=timezone.now(), request=request)
    systems_need_work(request=request, actor=actor)
    return record_save(instance=request, actor=actor, event=AuditEvent.REQUEST_STOP, reason=_(
        "Processing stopped: subject logged out, %(count)s consents withdrawn") % {"count": withdrawn})


WITHDRAWAL_KINDS = (SubjectRequest.Kind.CONSENT_WITHDRAWAL, SubjectRequest.Kind.ADVERTISING_OBJECTION)


def consents_to_withdraw(request: SubjectRequest):
    """The subject's consents in force that ``request`` may withdraw: all of them for a consent
    withdrawal, those to advertising (1.3.2.5) for an objection to advertising."""
    consents = Consent.objects.filter(subject_id=request.subject_id).in_force().select_related("purpose")
    if request.kind == SubjectRequest.Kind.ADVERTISING_OBJECTION:
        consents = consents.filter(purpose__clause__in=SubjectRequest.ADVERTISING_CLAUSES)
    return consents.order_by("purpose__clause", "recipient_kind", "pk")


@transaction.atomic
def request_withdraw_consents(*, request: SubjectRequest, consents, actor) -> SubjectRequest:
    """Withdraw, from now, the ``consents`` the subject asked to withdraw, each ledger event naming the
    request; then the request may close as done. With no consent in force, it records just that."""
    request = lock_workable(request, *WITHDRAWAL_KINDS)
    DataSubject.objects.select_for_update().get(pk=request.subject_id)  # as a grant does: one change at a time
    offered = {consent.pk: consent for consent in consents_to_withdraw(request)}
    chosen = {consent.pk for consent in consents}
    if chosen - set(offered):
        raise ValidationError(_("Only consents of this subject that are in force can be withdrawn here."))
    if offered and not chosen:
        raise ValidationError(_("Choose the consents the subject withdraws."))
    now = timezone.now()
    reason = _("Request #%(id)s: consent withdrawn (1.5)") % {"id": request.pk}
    for pk in sorted(chosen):
        consent_withdraw(consent=offered[pk], occurred_at=now, evidence=_evidence(request), actor=actor, note=reason)
    request.carried_out_at = now
    systems_need_work(request=request, actor=actor)
    return record_save(instance=request, actor=actor, event=AuditEvent.REQUEST_WITHDRAWAL,
                       reason=_("Request #%(id)s: %(count)s consents withdrawn") % {
        "id": request.pk, "count": len(chosen)})


# The subject's fields an agent may correct from a correction request (1.5.1); the account id
# and registration time are facts of the account, not the subject's to correct.
CORRECTABLE_FIELDS = ("full_name", "phone", "email", "pinfl", "passport", "birth_date", "preferred_language")
CORRECTABLE_ADDRESS_FIELDS = ("kind", "region", "city", "street", "landmark", "postal_code")


def _labels(model, names) -> str:
    return ", ".join(str(model._meta.get_field(name).verbose_name) for name in names)


@transaction.atomic
def request_correct_subject(*, request: SubjectRequest, changes: dict, actor,
                            address_changes: dict[int, dict] | None = None) -> DataSubject:
    """Correct the subject's data — their own fields and their addresses (by address id) — as a
    correction request asks (1.5.1); each history row's reason names the request, whatever the
    agent types. Everything is validated before anything is saved."""
    request = lock_workable(request, SubjectRequest.Kind.CORRECTION)
    address_changes = address_changes or {}
    unknown = set(changes) - set(CORRECTABLE_FIELDS)
    unknown |= {name for values in address_changes.values() for name in values} - set(CORRECTABLE_ADDRESS_FIELDS)
    if unknown:
        raise ValidationError(_("These fields cannot be corrected here: %(fields)s.") % {
            "fields": ", ".join(sorted(unknown))})
    subject = DataSubject.objects.select_for_update().get(pk=request.subject_id)
    addresses = Address.objects.filter(subject=subject).in_bulk(list(address_changes))
    if len(addresses) != len(address_changes):
        raise ValidationError(_("An address to correct does not belong to this subject."))

    to_save = []
    for record, values in [(subject, changes), *((addresses[pk], address_changes[pk]) for pk in address_changes)]:
        changed = sorted(name for name, value in values.items() if getattr(record, name) != value)
        for name in changed:
            setattr(record, name, values[name])
        if changed:
            record.full_clean()  # all records checked before the first is saved
            to_save.append((record, changed))
    if not to_save:
        raise ValidationError(_("Nothing was changed."))
    for record, changed in to_save:
        # A correction is one of the two services that may write the records of an erased subject.
        record_save(instance=record, actor=actor, event=AuditEvent.REQUEST_CORRECTION,
                    reason=_("Request #%(id)s: correction (1.5.1) of %(fields)s") % {
            "id": request.pk, "fields": _labels(type(record), changed)}, allow_erased=True)
    request.carried_out_at = timezone.now()
    record_save(instance=request, actor=actor, event=AuditEvent.REQUEST_CORRECTION,
                reason=_("Request #%(id)s: correction recorded") % {"id": request.pk}, allow_erased=True)
    systems_need_work(request=request, actor=actor)
    return subject
