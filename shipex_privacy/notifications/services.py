"""Staff e-mail: the morning digest and the alerts, in each staff member's own language.

Each mail is sent at most once per staff member, kind, day and key: a row in the sent-log is
claimed first (its unique constraint settles a race between two runs), the mail goes out, and a
failed send gives the claim back so that the next run tries again. Every function here may be
called again the same day (by the scheduler, by ``send_digests``) and sends nothing twice.

What a mail says is kept short on purpose: numbers, kinds, dates and links into the admin, where
reading a record is logged. No subject's name, phone or identifier leaves in an e-mail.
"""

import hashlib
import logging
import smtplib
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Count, Min
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from shipex_privacy.accounts.roles import AUDITOR, COMPLIANCE_OFFICER
from shipex_privacy.audit.events import AuditEvent
from shipex_privacy.audit.services import record_save
from shipex_privacy.core.text import render_text
from shipex_privacy.disclosures.models import DisclosedSubject, Disclosure
from shipex_privacy.protection.models import Incident, Measure
from shipex_privacy.rights_requests.models import SubjectRequest

from .models import NotificationPreference, SentMail

logger = logging.getLogger(__name__)

DUE_WITHIN = timedelta(days=3)  # "due within 3 days" in the requests digest
LISTED = 50  # rows a section lists; the rest are counted, with a link to the full list
FINDINGS_LISTED = 20


@dataclass
class SendSummary:
    """What one run did: mails sent, skipped because already sent today, nothing to say, failed."""

    day: date
    sent: int = 0
    already_sent: int = 0
    nothing_to_send: int = 0
    failed: int = 0
    recipients: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"{self.day}: {self.sent} sent, {self.already_sent} already sent today, "
                f"{self.nothing_to_send} with nothing to send, {self.failed} failed")


def absolute_url(path: str) -> str:
    """A link for a mail: the back office's address (SHIPEX_BASE_URL) and an admin path."""
    return settings.SHIPEX_BASE_URL.rstrip("/") + path


def preferences_of(user) -> NotificationPreference:
    """The staff member's choices; the defaults (everything on) when they never changed them."""
    try:
        return user.mail_preferences
    except NotificationPreference.DoesNotExist:
        return NotificationPreference(user=user)


def role_names(user) -> set[str]:
    return {group.name for group in user.groups.all()}


def mail_recipients():
    """Active staff with an address; their choices and roles come with them (three queries in all)."""
    return (get_user_model().objects.filter(is_active=True, is_staff=True).exclude(email="")
            .select_related("mail_preferences").prefetch_related("groups").order_by("pk"))


def _render(user, template: str, context: dict) -> EmailMultiAlternatives:
    """The mail ``template`` for ``user``, in their language: subject, plain text and HTML."""
    context = {"user": user, "home_url": absolute_url(reverse("admin:index")),
               "preferences_url": absolute_url(reverse("admin:notifications_my_email")), **context}
    language = user.language or settings.LANGUAGE_CODE
    with translation.override(language):
        subject = " ".join(render_text(f"notifications/{template}_subject.txt", context).split())
        text = render_text(f"notifications/{template}.txt", context)
        html = render_to_string(f"notifications/{template}.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [user.email],
                                     headers={"Content-Language": language})
    message.attach_alternative(html, "text/html")
    return message


class _Session:
    """One mail-server connection for a whole run, opened only when the first mail goes out (a run
    with nothing to send touches no server and leaves no empty file). A server that is down does
    not stop the run: each mail then tries on its own, fails, and is counted (and the next run tries
    again)."""

    def __init__(self):
        self.connection = get_connection()
        self.opened = False

    def send(self, message) -> None:
        if not self.opened:
            self.opened = True
            try:
                self.connection.open()
            except (smtplib.SMTPException, OSError):
                logger.warning("The mail server did not answer; each mail of this run will try on its own")
        message.connection = self.connection
        message.send()

    def close(self) -> None:
        if self.opened:
            self.connection.close()


@contextmanager
def _smtp_session():
    session = _Session()
    try:
        yield session
    finally:
        session.close()


def _send_once(*, user, kind: str, day: date, key: str, items: int, message, connection, summary) -> None:
    try:
        with transaction.atomic():
            claim = SentMail.objects.create(user=user, kind=kind, day=day, key=key, items=items)
    except IntegrityError:
        summary.already_sent += 1
        return
    try:
        connection.send(message)
    except (smtplib.SMTPException, OSError):
        logger.exception("Staff e-mail %s to user %s was not sent; the next run tries again", kind, user.pk)
        claim.delete()  # not history: the sent-log only says what went out
        summary.failed += 1
        return
    summary.sent += 1
    summary.recipients.append(user.email)


def _already_sent(kind: str, day: date, key: str = "") -> set[int]:
    return set(SentMail.objects.filter(kind=kind, day=day, key=key).values_list("user_id", flat=True))


# ---- The morning digest ---------------------------------------------------------------------------


def _listed(rows: list) -> dict:
    return {"rows": rows[:LISTED], "more": max(len(rows) - LISTED, 0), "count": len(rows)}


def _digest_data(now: datetime, today: date) -> dict:
    """Everything any digest of the day lists, read once for all staff: the same few queries
    however many requests, disclosures or staff there are."""
    requests = defaultdict(list)
    for request in (SubjectRequest.objects.open().filter(paused_at__isnull=True, assignee_id__isnull=False,
                                                         due_at__lt=now + DUE_WITHIN)
                    .only("id", "kind", "status", "due_at", "assignee_id").order_by("due_at", "id")):
        request.overdue = request.due_at < now
        request.url = absolute_url(reverse("admin:rights_requests_subjectrequest_change", args=[request.pk]))
        requests[request.assignee_id].append(request)
    submitted = list(Disclosure.objects.filter(status=Disclosure.Status.SUBMITTED)
                     .select_related("recipient").order_by("created_at", "id"))
    for disclosure in submitted:
        disclosure.url = absolute_url(reverse("admin:disclosures_disclosure_change", args=[disclosure.pk]))
    notifications = list(
        DisclosedSubject.objects.filter(disclosure__sent_at__isnull=False, notify_by__isnull=False,
                                        notified_at__isnull=True, exemption="")
        .values("disclosure_id", "disclosure__recipient__legal_name")
        .annotate(subjects=Count("id"), notify_by=Min("notify_by")).order_by("notify_by", "disclosure_id"))
    for row in notifications:
        row["overdue"] = row["notify_by"] < today
        row["url"] = absolute_url(reverse("admin:disclosures_disclosure_change", args=[row["disclosure_id"]]))
    measures = list(Measure.objects.overdue(today).only(
        "id", "title", "title_uz", "title_ru", "owner", "owner_uz", "owner_ru", "next_review_on", "status"))
    for measure in measures:
        measure.url = absolute_url(reverse("admin:protection_measure_change", args=[measure.pk]))
    return {"requests": requests, "submitted": submitted, "notifications": notifications, "measures": measures}


def digest_sections(user, data: dict) -> dict:
    """The sections of ``user``'s digest that they chose and that have something in them."""
    chosen, roles = preferences_of(user), role_names(user)
    sections = {}
    if chosen.requests_due and (mine := data["requests"].get(user.pk)):
        sections["requests"] = _listed(mine)
        sections["requests"]["overdue"] = sum(1 for request in mine if request.overdue)
    if COMPLIANCE_OFFICER in roles:
        # Four eyes: a disclosure is never approved by its author, so it is not in the author's list.
        waiting = [d for d in data["submitted"] if d.created_by_id != user.pk]
        if chosen.disclosures_to_approve and waiting:
            sections["disclosures"] = _listed(waiting)
        if chosen.subject_notifications_due and data["notifications"]:
            sections["notifications"] = _listed(data["notifications"])
            sections["notifications"]["subjects"] = sum(row["subjects"] for row in data["notifications"])
        if chosen.measure_reviews_overdue and data["measures"]:
            sections["measures"] = _listed(data["measures"])
    return sections


def send_morning_digests(*, now: datetime | None = None) -> SendSummary:
    """Each staff member's digest of the day, to those with something in it; once a day each."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    summary = SendSummary(day=today)
    sent_today = _already_sent(SentMail.Kind.DIGEST, today)
    data = _digest_data(now, today)
    context_urls = {
        "queue_url": absolute_url(reverse("admin:rights_requests_subjectrequest_changelist")),
        "disclosures_url": absolute_url(reverse("admin:disclosures_disclosure_changelist") + "?status__exact="
                                        + Disclosure.Status.SUBMITTED),
        "notifications_url": absolute_url(reverse("admin:disclosures_disclosedsubject_changelist")),
        "measures_url": absolute_url(reverse("admin:protection_measure_changelist") + "?review=overdue"),
    }
    with _smtp_session() as connection:
        for user in mail_recipients():
            if user.pk in sent_today:
                summary.already_sent += 1
                continue
            sections = digest_sections(user, data)
            if not sections:
                summary.nothing_to_send += 1
                continue
            message = _render(user, "digest", {"day": today, "sections": sections, **context_urls})
            _send_once(user=user, kind=SentMail.Kind.DIGEST, day=today, key="",
                       items=sum(section["count"] for section in sections.values()), message=message,
                       connection=connection, summary=summary)
    return summary


# ---- Alerts -------------------------------------------------------------------------------------


def _alert(*, recipients, kind: str, key: str, template: str, context: dict, items: int,
           now: datetime | None) -> SendSummary:
    today = timezone.localdate(now or timezone.now())
    summary = SendSummary(day=today)
    sent = _already_sent(kind, today, key)
    with _smtp_session() as connection:
        for user in recipients:
            if user.pk in sent:
                summary.already_sent += 1
                continue
            _send_once(user=user, kind=kind, day=today, key=key, items=items,
                       message=_render(user, template, context), connection=connection, summary=summary)
    return summary


def send_incident_alert(*, incident: Incident, now: datetime | None = None) -> SendSummary:
    """Tell the compliance officers of a new incident at once (called when its creation commits)."""
    officers = [user for user in mail_recipients()
                if COMPLIANCE_OFFICER in role_names(user) and preferences_of(user).new_incidents]
    # Title, severity and dates only: what was exposed, and whose, is read in the admin (logged).
    context = {"incident": incident,
               "incident_url": absolute_url(reverse("admin:protection_incident_change", args=[incident.pk]))}
    return _alert(recipients=officers, kind=SentMail.Kind.INCIDENT, key=str(incident.pk), template="incident",
                  context=context, items=1, now=now)


def findings_key(findings) -> str:
    """The same findings give the same key: a job that verifies every few minutes alerts once a day
    about a tampering it keeps finding, and again as soon as it finds something new."""
    text = "\n".join(sorted(f"{finding.table}:{finding.row_id}:{finding.problem}" for finding in findings))
    return hashlib.sha256(text.encode()).hexdigest()


def send_verify_audit_alert(*, report, now: datetime | None = None) -> SendSummary:
    """Tell the auditors at once that verify_audit found the record altered (``report`` is
    audit.tamper.verify()'s VerifyReport). A report without findings sends nothing."""
    today = timezone.localdate(now or timezone.now())
    if not report.findings:
        return SendSummary(day=today)
    auditors = [user for user in mail_recipients()
                if AUDITOR in role_names(user) and preferences_of(user).audit_verification_failed]
    context = {"count": len(report.findings), "findings": report.findings[:FINDINGS_LISTED],
               "more": max(len(report.findings) - FINDINGS_LISTED, 0), "rows_checked": report.rows_checked,
               "trail_url": absolute_url(reverse("admin:audit_trailentry_changelist"))}
    return _alert(recipients=auditors, kind=SentMail.Kind.AUDIT_VERIFICATION, key=findings_key(report.findings),
                  template="verify_audit", context=context, items=len(report.findings), now=now)


# ---- Choices ------------------------------------------------------------------------------------


def offered_choices(user) -> list[str]:
    """The choices that concern ``user``'s work (the "My e-mail" page shows these)."""
    roles = role_names(user)
    offered = ["requests_due"]
    if COMPLIANCE_OFFICER in roles or user.is_superuser:
        offered += ["disclosures_to_approve", "subject_notifications_due", "measure_reviews_overdue", "new_incidents"]
    if AUDITOR in roles or user.is_superuser:
        offered.append("audit_verification_failed")
    return offered


@transaction.atomic
def preferences_update(*, user, language: str, choices: dict[str, bool], actor) -> bool:
    """Save ``user``'s mail language and choices; in history when they change. True if anything changed."""
    unknown = set(choices) - set(NotificationPreference.CHOICES)
    if unknown:
        raise ValueError(f"Not a mail choice: {sorted(unknown)}")
    chosen = (NotificationPreference.objects.select_for_update().filter(user=user).first()
              or NotificationPreference(user=user))
    changed = False
    if any(getattr(chosen, name) != value for name, value in choices.items()):
        for name, value in choices.items():
            setattr(chosen, name, value)
        chosen.updated_at = timezone.now()
        record_save(instance=chosen, actor=actor, event=AuditEvent.MAIL_CHOICES_CHANGED,
                    reason=_("Changed on the “My e-mail” page"))
        changed = True
    if language != user.language:
        if language not in dict(settings.LANGUAGES):
            raise ValueError(f"Not a language of the back office: {language!r}")
        user.language = language
        user.save(update_fields=["language"])
        changed = True
    return changed
