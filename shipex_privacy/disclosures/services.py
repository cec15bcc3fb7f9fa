"""Audited writes of the disclosure workflow: draft → submitted → approved → sent.

Each step checks who may take it and what must hold, and writes nothing when it refuses.
"""

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shipex_privacy.audit.events import AuditEvent
from shipex_privacy.audit.services import record_delete, record_save
from shipex_privacy.subjects.models import DataSubject

from .models import DisclosedSubject, Disclosure, PublicChoice, RecipientKind, notify_by


def _locked(disclosure: Disclosure) -> Disclosure:
    return Disclosure.objects.select_for_update().select_related("recipient", "purpose").get(pk=disclosure.pk)


def _refuse_unless(disclosure: Disclosure, *statuses: str) -> None:
    if disclosure.status not in statuses:
        raise ValidationError(
            _("Disclosure № %(id)s is %(status)s; this step is not possible now.")
            % {"id": disclosure.pk, "status": disclosure.get_status_display().lower()}
        )


@transaction.atomic
def disclosure_set_subjects(*, disclosure: Disclosure, subjects: list[DataSubject], actor, reason: str) -> None:
    """Name the subjects of a draft (replacing any named before)."""
    disclosure = _locked(disclosure)
    _refuse_unless(disclosure, Disclosure.Status.DRAFT)
    wanted = {subject.pk for subject in subjects}
    for row in disclosure.disclosed_subjects.exclude(subject_id__in=wanted):
        record_delete(instance=row, actor=actor, event=AuditEvent.DISCLOSURE_DRAFTED, reason=reason)
    present = set(disclosure.disclosed_subjects.values_list("subject_id", flat=True))
    for subject in subjects:
        if subject.pk not in present:
            record_save(instance=DisclosedSubject(disclosure=disclosure, subject=subject), actor=actor,
                        event=AuditEvent.DISCLOSURE_DRAFTED, reason=reason)


@transaction.atomic
def disclosure_submit(*, disclosure: Disclosure, actor) -> Disclosure:
    disclosure = _locked(disclosure)
    _refuse_unless(disclosure, Disclosure.Status.DRAFT)
    disclosure.status = Disclosure.Status.SUBMITTED
    return record_save(instance=disclosure, actor=actor, event=AuditEvent.DISCLOSURE_SUBMITTED,
                       reason=_("Submitted for approval"))


@transaction.atomic
def disclosure_return(*, disclosure: Disclosure, actor, reason: str) -> Disclosure:
    """Send a submitted disclosure back to its author as a draft, saying why."""
    disclosure = _locked(disclosure)
    _refuse_unless(disclosure, Disclosure.Status.SUBMITTED, Disclosure.Status.APPROVED)
    if not reason.strip():
        raise ValidationError(_("Say why the disclosure goes back to draft."))
    disclosure.status = Disclosure.Status.DRAFT
    disclosure.approved_by_id, disclosure.approved_by_username, disclosure.approved_at = None, "", None
    return record_save(instance=disclosure, actor=actor, event=AuditEvent.DISCLOSURE_RETURNED, reason=reason)


@transaction.atomic
def disclosure_approve(*, disclosure: Disclosure, approver) -> Disclosure:
    """Approve a submitted disclosure: a second person with the right, and a ground that holds."""
    disclosure = _locked(disclosure)
    _refuse_unless(disclosure, Disclosure.Status.SUBMITTED)
    if not approver.has_perm("disclosures.approve_disclosure"):
        raise PermissionDenied(_("You may not approve disclosures."))
    if approver.pk == disclosure.created_by_id:
        raise ValidationError(_("You created this disclosure; another officer must approve it."))
    failed = [finding for finding in disclosure.check_ground() if not finding.passed]
    if failed:
        raise ValidationError([f"{finding.clause}: {finding.message}" for finding in failed])
    disclosure.status = Disclosure.Status.APPROVED
    disclosure.approved_by_id, disclosure.approved_by_username = approver.pk, approver.get_username()
    disclosure.approved_at = timezone.now()
    return record_save(instance=disclosure, actor=approver, event=AuditEvent.DISCLOSURE_APPROVED, reason=_("Approved"))


def exemption_for(disclosure: Disclosure, all_public: bool) -> str:
    """Why a subject need not be told of this disclosure (ZRU-547 art. 23), or ""."""
    if disclosure.recipient.kind == RecipientKind.STATE_AUTHORITY and disclosure.ground == Disclosure.Ground.LAW:
        return DisclosedSubject.Exemption.STATE_BODY
    if disclosure.ground == Disclosure.Ground.STATISTICS or disclosure.purpose.depersonalised_only:
        return DisclosedSubject.Exemption.STATISTICS
    if all_public:
        return DisclosedSubject.Exemption.PUBLIC_SOURCES
    return ""


def disclosure_version(disclosure: Disclosure) -> int:
    """The disclosure's latest history row: what a send preview was built on."""
    return disclosure.history.order_by("-history_id").values_list("history_id", flat=True).first() or 0


def disclosure_send(*, disclosure: Disclosure, actor, based_on: int | None = None,
                    sent_at: datetime | None = None, statistics=None) -> Disclosure:
    """Build the export of an approved disclosure, keep it in private storage, and record it as sent:
    from now on the disclosure is frozen. ``based_on`` is the version the officer's preview showed;
    a disclosure changed since is refused. An aggregate-only disclosure (1.4.3.5) names no subjects:
    its ``statistics`` file, attached by the officer, is kept and hashed instead. The file is moved
    into place when the send commits; a refusal or a failure leaves no file behind (``package_files``)."""
    staged = []
    try:
        return _send(disclosure=disclosure, actor=actor, based_on=based_on, sent_at=sent_at,
                     statistics=statistics, staged=staged)
    except BaseException:
        for file in staged:
            file.discard()
        raise


@transaction.atomic
def _send(*, disclosure: Disclosure, actor, based_on: int | None, sent_at: datetime | None, statistics,
          staged: list) -> Disclosure:
    from .export import build_export, plan_export, store_statistics

    disclosure = _locked(disclosure)
    _refuse_unless(disclosure, Disclosure.Status.APPROVED)
    if based_on is not None and disclosure_version(disclosure) != based_on:
        raise ValidationError(_("Disclosure № %(id)s changed after this page was opened; nothing was sent. "
                                "Open the send step again to see what it holds now.") % {"id": disclosure.pk})
    if disclosure.aggregate_only and statistics is None:
        raise ValidationError(_("Disclosure № %(id)s is of aggregate data only: attach the statistics file that "
                                "is sent; its SHA-256 is computed from it.") % {"id": disclosure.pk})
    sent_at = sent_at or timezone.now()
    findings = disclosure.check_ground(sent_at)
    failed = [finding for finding in findings if not finding.passed]
    if failed:  # something changed since approval (a consent withdrawn, a contract ended)
        raise ValidationError([f"{finding.clause}: {finding.message}" for finding in failed])
    plan = plan_export(disclosure)
    if not plan.subject_ids and not disclosure.aggregate_only:
        raise ValidationError(_("Disclosure № %(id)s names no subjects; there is nothing to send.")
                              % {"id": disclosure.pk})
    fields = list(disclosure.fields.order_by("code").values_list("pk", "code"))
    rows = list(disclosure.disclosed_subjects.select_related("subject").order_by("subject_id"))
    public = set(
        PublicChoice.objects.filter(subject_id__in=[row.subject_id for row in rows],
                                    made_public_on__lte=timezone.localdate(sent_at))
        .values_list("subject_id", "field_id")
    )
    reason = _("Disclosure № %(id)s sent") % {"id": disclosure.pk}
    for row in rows:
        all_public = bool(fields) and all((row.subject_id, field_id) in public for field_id, _code in fields)
        row.exemption = exemption_for(disclosure, all_public)
        row.notify_by = None if row.exemption else notify_by(sent_at)
        record_save(instance=row, actor=actor, event=AuditEvent.DISCLOSURE_SENT, reason=reason)
    if disclosure.aggregate_only:
        export, file = store_statistics(disclosure=disclosure, upload=statistics, actor=actor, built_at=sent_at,
                                        staged=staged)
    else:
        export, file = build_export(disclosure=disclosure, plan=plan, actor=actor, built_at=sent_at, staged=staged)
    record_save(instance=export, actor=actor, event=AuditEvent.DISCLOSURE_SENT, reason=reason)
    disclosure.payload_sha256 = export.sha256
    disclosure.record_count = export.record_count
    disclosure.manifest = {
        "fields": [code for _pk, code in fields],
        # In the order of the export's records: record n is the n-th account id here.
        "subjects": plan.account_ids,
        "exported_fields": plan.codes,
        # Held in other ShipEx systems: not in the file; each system's owner provides them.
        "held_elsewhere": plan.elsewhere,
        "file": {"name": export.file.name, "sha256": export.sha256, "size": export.size,
                 "records": export.record_count,
                 "members": ["statistics"] if disclosure.aggregate_only else ["data.csv", "data.json"]},
        "ground": disclosure.ground,
        "recipient": {"legal_name": disclosure.recipient.legal_name, "tin": disclosure.recipient.tin},
        "approved_by": disclosure.approved_by_username,
        # The checklist as it stood when the data left: later changes to the recipient do not alter it.
        "ground_check": [{"clause": f.clause, "passed": f.passed, "message": str(f.message)} for f in findings],
    }
    disclosure.status, disclosure.sent_at = Disclosure.Status.SENT, sent_at
    disclosure = record_save(instance=disclosure, actor=actor, event=AuditEvent.DISCLOSURE_SENT,
                             reason=_("Sent to %(recipient)s") % {"recipient": disclosure.recipient})
    file.place_on_commit()
    return disclosure


@transaction.atomic
def disclosure_correct(*, disclosure: Disclosure, actor, reason: str) -> Disclosure:
    """Start a correction of a sent disclosure: a new draft that points to it, with the same content."""
    if not disclosure.is_sent:
        raise ValidationError(_("Only a sent disclosure is corrected by a new one; edit the draft instead."))
    if not reason.strip():
        raise ValidationError(_("Say what the correction corrects."))
    original = Disclosure.objects.get(pk=disclosure.pk)
    correction = Disclosure(
        recipient=original.recipient, ground=original.ground, purpose=original.purpose, service=original.service,
        aggregate_only=original.aggregate_only, legal_authority=original.legal_authority,
        legal_document_number=original.legal_document_number, legal_document_date=original.legal_document_date,
        recipient_request=original.recipient_request, delivery_method=original.delivery_method, corrects=original,
        created_by_id=actor.pk, created_by_username=actor.get_username(),
    )
    record_save(instance=correction, actor=actor, event=AuditEvent.DISCLOSURE_CORRECTED, reason=reason)
    correction.fields.set(original.fields.all())
    for row in original.disclosed_subjects.all():
        record_save(instance=DisclosedSubject(disclosure=correction, subject_id=row.subject_id), actor=actor,
                    event=AuditEvent.DISCLOSURE_CORRECTED, reason=reason)
    return correction


@transaction.atomic
def notification_mark_sent(*, disclosed: DisclosedSubject, channel: str, at: datetime, actor) -> DisclosedSubject:
    disclosed = DisclosedSubject.objects.select_for_update().select_related("disclosure").get(pk=disclosed.pk)
    if not disclosed.disclosure.is_sent:
        raise ValidationError(_("The disclosure has not been sent; there is nothing to notify yet."))
    if disclosed.exemption:
        raise ValidationError(_("This subject need not be notified: %(why)s.") % {
            "why": disclosed.get_exemption_display()})
    if disclosed.notified_at:
        raise ValidationError(_("The subject was already notified on %(date)s.") % {
            "date": f"{timezone.localtime(disclosed.notified_at):%d.%m.%Y}"})
    if at > timezone.now() or at < disclosed.disclosure.sent_at:
        raise ValidationError(_("The notification time must lie between the disclosure and now."))
    disclosed.notified_at, disclosed.notification_channel = at, channel
    return record_save(instance=disclosed, actor=actor, event=AuditEvent.SUBJECT_NOTIFIED,
                       reason=_("Subject notified by %(channel)s") % {
        "channel": channel})
