"""Data-subject requests (clause 1.5; ZRU-547 arts. 11 and 22) and the deadlines that bind them.

A request arrives (``new``), the requester is matched to a subject and their identity verified
(``verifying``), the work is done (``in_progress``, possibly ``waiting`` for the subject), and the
request closes ``done`` or ``refused`` — never without a response. Every write goes through
``services.py``; the database holds the rules it can (named check constraints).
"""

import re
from contextlib import suppress
from datetime import date, datetime, time, timedelta
from string import Formatter

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shipex_privacy.audit.history import audited_history
from shipex_privacy.consents.models import Consent
from shipex_privacy.core import identifiers
from shipex_privacy.core.i18n import Shown, twin_fields
from shipex_privacy.subjects.models import DataSubject

TO_BE_CONFIRMED = "to be confirmed by counsel"


class DayCount(models.TextChoices):
    CALENDAR = "calendar", _("calendar days")
    WORKING = "working", _("working days (Monday–Friday)")


def add_days(start: date, days: int, day_count: str) -> date:
    """The day ``days`` calendar or working days after ``start`` (the day of receipt is day 0).

    Working days are Monday to Friday. Uzbek public holidays are out of scope: they are not
    subtracted, so a working-day deadline over a holiday comes a day early, never late.
    """
    if day_count == DayCount.CALENDAR:
        return start + timedelta(days=days)
    day = start
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def end_of_day(day: date) -> datetime:
    """The last moment of ``day`` in Tashkent time: a deadline lasts the whole of its last day."""
    return timezone.make_aware(datetime.combine(day, time(23, 59, 59)))


# A request number as staff quote it: "42", "#42", "DSR #42", "dsr-42".
REQUEST_NUMBER_RE = re.compile(r"(?:DSR)?[\s#№-]*([0-9]{1,18})", re.IGNORECASE)
SUBJECTS_SEARCHED = 50  # subjects one identifier can name: one, or a few sharing a phone


def contact_forms(typed: str) -> set[str]:
    """The forms a contact may have been written in when the request came: as typed, and a phone or
    e-mail in the forms staff and apps write them (E.164, "+998 90 123 45 67", lower case)."""
    forms = {typed}
    with suppress(ValidationError):
        phone = identifiers.normalise_phone(typed)
        forms |= {phone, identifiers.format_phone(phone)}
    if "@" in typed:
        forms.add(typed.lower())
    return forms


class SubjectRequestQuerySet(models.QuerySet):
    def search(self, term: str) -> "SubjectRequestQuerySet":
        """Requests found by ``term``: their number, their subject's account id, phone, e-mail or PINFL,
        or the requester's contact as given (an exact match). Every reading is an indexed lookup."""
        term = " ".join(term.split())
        if not term:
            return self.none()
        condition = Q(requester_contact__in=sorted(contact_forms(term)))
        if number := REQUEST_NUMBER_RE.fullmatch(term):
            condition |= Q(pk=int(number.group(1)))
        # The subjects first, by their own indexed search; then their requests by the subject index.
        subject_ids = list(DataSubject.objects.search(term).order_by().values_list("pk", flat=True)[:SUBJECTS_SEARCHED])
        if subject_ids:
            condition |= Q(subject_id__in=subject_ids)
        return self.filter(condition)

    def open(self):
        return self.exclude(status__in=SubjectRequest.CLOSED)

    def workable(self, *kinds: str):
        """Open requests of ``kinds`` matched to a subject whose requester's identity is verified:
        the ones whose work (package, correction, erasure, withdrawal, stop) may be carried out."""
        return self.open().filter(kind__in=kinds, subject__isnull=False, identity_verified_at__isnull=False)

    def overdue(self, now: datetime | None = None):
        """Open, not paused, and past the end of their due day."""
        return self.open().filter(paused_at__isnull=True, due_at__lt=now or timezone.now())

    def due_soon(self, days: int = 3, now: datetime | None = None):
        """Open, not paused, not yet overdue, and due within ``days`` days from now."""
        now = now or timezone.now()
        return self.open().filter(paused_at__isnull=True, due_at__gte=now, due_at__lt=now + timedelta(days=days))

    def mine(self, user):
        return self.filter(assignee_id=user.pk)

    def unassigned(self):
        return self.filter(assignee_id__isnull=True)


class SubjectRequest(models.Model):
    """One request of a data subject (or someone claiming to be one), from receipt to response."""

    class Kind(models.TextChoices):
        ACCESS = "access", _("Access: a copy of my data (1.5)")
        INFORMATION = "information", _("Information about processing, incl. recipients (ZRU-547 art. 22)")
        CORRECTION = "correction", _("Correction (1.5.1)")
        ERASURE = "erasure", _("Erasure (1.5)")
        CONSENT_WITHDRAWAL = "consent_withdrawal", _("Consent withdrawal (1.5)")
        STOP = "stop", _("Stop processing / log out (1.5.2)")
        ADVERTISING_OBJECTION = "advertising_objection", _("Objection to advertising (1.3.2.5)")
        COMPLAINT = "complaint", _("Complaint")

    class Channel(models.TextChoices):
        APP = "app", _("ShipEx app")
        WEB = "web", _("Website")
        EMAIL = "email", _("E-mail")
        PHONE = "phone", _("Phone")
        OFFICE = "office", _("In the office")
        LETTER = "letter", _("Letter")

    class Status(models.TextChoices):
        NEW = "new", _("New")
        VERIFYING = "verifying", _("Verifying identity")
        IN_PROGRESS = "in_progress", _("In progress")
        WAITING = "waiting", _("Waiting for the subject")
        # An erasure carried out here whose tasks for other systems' owners are not all done yet.
        WAITING_SYSTEMS = "waiting_systems", _("Waiting for other systems")
        DONE = "done", _("Done")
        REFUSED = "refused", _("Refused")

    class IdentityMethod(models.TextChoices):
        APP_LOGIN = "app_login", _("Signed in to the ShipEx app")
        SMS_CODE = "sms_code", _("Code sent by SMS to the registered phone")
        REGISTERED_EMAIL = "registered_email", _("Reply from the registered e-mail address")
        DOCUMENT = "document", _("Identity document shown in the office")
        NOTARISED = "notarised", _("Notarised letter or power of attorney")

    CLOSED = (Status.DONE, Status.REFUSED)
    # Where each status may go next; anything else is refused with a message.
    TRANSITIONS = {
        Status.NEW: (Status.VERIFYING, Status.REFUSED),
        Status.VERIFYING: (Status.IN_PROGRESS, Status.REFUSED),
        Status.IN_PROGRESS: (Status.WAITING, Status.DONE, Status.REFUSED),
        Status.WAITING: (Status.IN_PROGRESS, Status.DONE, Status.REFUSED),
        # Entered and left by the erasure itself (last task ticked off, or an officer's override);
        # closing from here is refused while a task is open and not overridden.
        Status.WAITING_SYSTEMS: (Status.DONE,),
        Status.DONE: (),
        Status.REFUSED: (),
    }
    # States reached only after the requester's identity is verified.
    NEEDS_IDENTITY = (Status.IN_PROGRESS, Status.WAITING, Status.WAITING_SYSTEMS, Status.DONE)
    # Purposes an objection to advertising is about (1.3.2.5).
    ADVERTISING_CLAUSES = ("1.3.2.5",)

    PERSONAL_DATA_FIELDS = ("requester_name", "requester_contact", "details", "internal_notes", "response_text",
                            "response_language")
    NON_PERSONAL_FIELDS = (
        "id", "kind", "channel", "received_at", "subject", "identity_method", "identity_verified_by_id",
        "identity_verified_by_username", "identity_verified_at", "status", "assignee_id", "assignee_username",
        "due_at", "day_count", "refuse_by", "paused_at", "duplicate_of", "closed_at", "created_at",
        "carried_out_at", "tasks_overridden_at", "tasks_overridden_by_id", "tasks_overridden_by_username",
        "tasks_override_reason",
    )

    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    requester_name = models.CharField(_("requester's name, as given"), max_length=200, blank=True)
    requester_contact = models.CharField(_("requester's contact, as given"), max_length=200, blank=True,
                                         help_text=_("Phone, e-mail, account id or address, as the requester gave it."))
    details = models.TextField(_("what the requester asks"), blank=True)
    subject = models.ForeignKey(DataSubject, verbose_name=_("data subject"), on_delete=models.PROTECT, null=True,
                                blank=True, related_name="rights_requests")
    identity_method = models.CharField(_("identity verified by"), max_length=20, choices=IdentityMethod.choices,
                                       blank=True)
    identity_verified_by_id = models.IntegerField(_("identity verified by staff (id)"), null=True, blank=True)
    identity_verified_by_username = models.CharField(_("identity verified by staff"), max_length=150, blank=True)
    identity_verified_at = models.DateTimeField(_("identity verified at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=15, choices=Status.choices, default=Status.NEW)
    assignee_id = models.IntegerField(_("assignee (id)"), null=True, blank=True)
    assignee_username = models.CharField(_("assignee"), max_length=150, blank=True)
    due_at = models.DateTimeField(_("due at"))
    day_count = models.CharField(_("deadline counted in"), max_length=10, choices=DayCount.choices,
                                 default=DayCount.CALENDAR)
    refuse_by = models.DateTimeField(_("a written refusal is due by"), null=True, blank=True)
    paused_at = models.DateTimeField(_("paused since"), null=True, blank=True)
    duplicate_of = models.ForeignKey("self", verbose_name=_("duplicate of"), on_delete=models.PROTECT, null=True,
                                     blank=True, related_name="duplicates")
    internal_notes = models.TextField(_("internal notes"), blank=True)
    response_text = models.TextField(_("response to the subject"), blank=True)
    # Copied from the subject when matched: an erasure may reset the subject's own preference,
    # and the answer still goes out in the language they asked in.
    response_language = models.CharField(_("language of the response"), max_length=2,
                                         choices=DataSubject.Language.choices, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # The work of a correction or a consent withdrawal is on record only here: set by its step.
    carried_out_at = models.DateTimeField(_("correction or withdrawal recorded at"), null=True, blank=True)
    # A compliance officer may let an erasure close while other systems' tasks are still open.
    tasks_overridden_at = models.DateTimeField(_("open tasks overridden at"), null=True, blank=True)
    tasks_overridden_by_id = models.IntegerField(_("open tasks overridden by (id)"), null=True, blank=True)
    tasks_overridden_by_username = models.CharField(_("open tasks overridden by"), max_length=150, blank=True)
    tasks_override_reason = models.CharField(_("why the request may close with open tasks"), max_length=500,
                                             blank=True)

    objects = SubjectRequestQuerySet.as_manager()
    history = audited_history()

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("data-subject request")
        verbose_name_plural = _("data-subject requests")
        permissions = [
            ("override_open_tasks", _("Can let an erasure close while other systems' tasks are open")),
            ("extend_beyond_rule", _("Can approve an extension beyond its deadline rule")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status__in=["done", "refused"]) | (Q(closed_at__isnull=False) & ~Q(response_text="")),
                name="subject_request_closed_with_response",
                violation_error_message=_("A request is closed only with a response to the subject."),
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["in_progress", "waiting", "waiting_systems", "done"])
                | Q(identity_verified_at__isnull=False),
                name="subject_request_work_needs_identity",
                violation_error_message=_("The requester's identity must be verified first."),
            ),
            models.CheckConstraint(
                condition=Q(identity_verified_at__isnull=True) | ~Q(identity_method=""),
                name="subject_request_identity_has_method",
                violation_error_message=_("Say how the identity was verified."),
            ),
            models.CheckConstraint(
                condition=Q(tasks_overridden_at__isnull=True) | ~Q(tasks_override_reason=""),
                name="subject_request_override_has_reason",
                violation_error_message=_("An override of open tasks needs a reason."),
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_at"], name="subject_request_queue_idx"),
            models.Index(fields=["assignee_id", "status"], name="subject_request_assignee_idx"),
            models.Index(fields=["subject", "kind", "status"], name="subject_request_subject_idx"),
            # The queue: open requests in the changelist's order (Meta.ordering), read from the index
            # in order and stopped at the page's end, without sorting every request.
            models.Index(fields=["due_at", "id"], name="subject_request_open_due_idx",
                         condition=~Q(status__in=["done", "refused"])),
            # The dashboard: closed requests per kind with their times to close, read from the index
            # alone (no visit to the wide request rows).
            models.Index(fields=["kind", "closed_at", "received_at"], name="subject_request_closed_idx",
                         condition=Q(closed_at__isnull=False)),
            # The role homes (rights_requests/home.py): paused open requests, whose hold may have ended,
            # and requests received per month.
            models.Index(fields=["paused_at"], name="request_paused_home_idx",
                         condition=Q(paused_at__isnull=False) & ~Q(status__in=["done", "refused"])),
            models.Index(fields=["received_at"], name="request_received_home_idx"),
            # The queue's search by the requester's contact, as given (SubjectRequestQuerySet.search).
            models.Index(fields=["requester_contact"], name="request_requester_contact_idx"),
        ]

    def __str__(self) -> str:
        # The kind's label as get_kind_display() says it, read from the enum: Django's method hashes every
        # (lazily translated) label of the choices on each call, and the queue names each of its rows twice.
        try:
            kind = self.Kind(self.kind).label
        except ValueError:
            kind = self.kind
        return f"DSR #{self.pk} · {kind}"

    @property
    def is_open(self) -> bool:
        return self.status not in self.CLOSED

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.paused_at is None and self.due_at < timezone.now()

    @property
    def is_duplicate(self) -> bool:
        return self.duplicate_of_id is not None

    @property
    def identity_verified(self) -> bool:
        return self.identity_verified_at is not None

    def can_move_to(self, status: str) -> bool:
        return status in self.TRANSITIONS[self.Status(self.status)]

    def allowed_moves(self) -> list["SubjectRequest.Status"]:
        """The statuses an agent may move this request to now, in the workflow's order: the
        workflow's next states, less those that need a verified identity while it is not, and less
        "waiting for other systems", which the erasure and its tasks enter and leave themselves."""
        return [status for status in self.TRANSITIONS[self.Status(self.status)]
                if status != self.Status.WAITING_SYSTEMS
                and (self.identity_verified or status not in self.NEEDS_IDENTITY)]

    def refuse_if_closed(self) -> None:
        if not self.is_open:
            raise ValidationError(_("Request #%(id)s is closed (%(status)s).") % {
                "id": self.pk, "status": self.get_status_display().lower()})

    def refuse_unless_workable(self, *kinds: str) -> None:
        """Refuse (``ValidationError``) the work of a step for ``kinds`` unless the request is open,
        of one of those kinds, matched to a subject, and its requester's identity verified."""
        self.refuse_if_closed()
        if self.kind not in kinds:
            raise ValidationError(_("Request #%(id)s is a request of the kind “%(kind)s”; this step is for: "
                                    "%(kinds)s.") % {"id": self.pk, "kind": self.get_kind_display(),
                                                     "kinds": "; ".join(str(self.Kind(kind).label)
                                                                        for kind in kinds)})
        if self.subject_id is None or not self.identity_verified:
            raise ValidationError(_("Match the request to a subject and verify the requester's identity first."))

    def open_tasks(self):
        """This erasure's tasks for other systems' owners not yet ticked off."""
        return self.erasure_items.filter(outcome=ErasureItem.Outcome.TASK, task_done_at__isnull=True)

    @property
    def tasks_overridden(self) -> bool:
        return self.tasks_overridden_at is not None

    def extended_days(self) -> int:
        """Days the deadline has been extended by so far (pauses and resumptions not counted)."""
        return self.deadline_changes.filter(kind="extension").aggregate(total=models.Sum("days"))["total"] or 0

    def work_missing(self) -> str:
        """Why the request cannot close as *done* yet (empty when it can): done means the work of
        its kind is on record. Every kind is listed in ``DONE_NEEDS``; refusing needs no work."""
        return DONE_NEEDS[self.Kind(self.kind)](self)


def _package_built(request: SubjectRequest) -> str:
    if not request.access_packages.exists():
        return _("Build the access package before closing the request as done.")
    return ""


def _carried_out(message):
    return lambda request: "" if request.carried_out_at else message


def _erased_and_tasks_done(request: SubjectRequest) -> str:
    if not request.erasure_items.exists():
        return _("Carry out the erasure before closing the request as done.")
    if not request.tasks_overridden and (count := request.open_tasks().count()):
        return _("%(count)s tasks for other systems' owners are still open; the request closes as done once "
                 "each is ticked off, or a compliance officer records why it may close without them.") % {
            "count": count}
    return ""


def _consents_in_force(request: SubjectRequest, clauses=None):
    consents = Consent.objects.filter(subject_id=request.subject_id).in_force()
    return consents.filter(purpose__clause__in=clauses) if clauses else consents


def _advertising_stopped(request: SubjectRequest) -> str:
    if not request.carried_out_at or _consents_in_force(request, request.ADVERTISING_CLAUSES).exists():
        return _("Withdraw the subject's consent to advertising (1.3.2.5) before closing the request as done.")
    return ""


def _stopped(request: SubjectRequest) -> str:
    if request.subject.status == DataSubject.Status.ACTIVE or _consents_in_force(request).exists():
        return _("Stop processing for the subject before closing the request as done.")
    return ""


K = SubjectRequest.Kind
# What "done" needs, for every kind: a kind added without its rule fails a test.
DONE_NEEDS = {
    K.ACCESS: _package_built,
    K.INFORMATION: _package_built,
    K.CORRECTION: _carried_out(_("Correct the subject's data from the request before closing it as done.")),
    K.ERASURE: _erased_and_tasks_done,
    K.CONSENT_WITHDRAWAL: _carried_out(_("Record the withdrawal of the consents before closing the request as "
                                         "done.")),
    K.ADVERTISING_OBJECTION: _advertising_stopped,
    K.STOP: _stopped,
    K.COMPLAINT: lambda request: "",  # a complaint is answered by the written response itself
}


class DeadlineRule(models.Model):
    """How long ShipEx has to answer a request of one kind, kept by the compliance team.

    **Calendar or working days** is set per rule (``day_count``). The seed uses *calendar* days
    for every rule: ZRU-547 says "days" without qualification, and calendar days are the stricter
    reading, so a deadline computed this way is never later than the law's. Working days, where
    counsel confirms them, are Monday to Friday; Uzbek public holidays are out of scope (not
    subtracted), so a working-day deadline over a holiday comes early, never late. The day of
    receipt is day 0, and a request is due by the end of its last day (Tashkent time). A deadline
    is fixed on the request when it arrives; changing a rule later moves no existing request.

    The ``refusal`` rule is the deadline for a written, reasoned refusal (ZRU-547 art. 22).
    """

    REFUSAL = "refusal"
    KEYS = [*SubjectRequest.Kind.choices, (REFUSAL, _("Written refusal (ZRU-547 art. 22)"))]

    kind = models.CharField(_("request kind"), max_length=30, choices=KEYS, unique=True)
    days = models.PositiveSmallIntegerField(_("days"))
    day_count = models.CharField(_("counted in"), max_length=10, choices=DayCount.choices,
                                 default=DayCount.CALENDAR)
    legal_reference = models.CharField(_("legal reference"), max_length=300)
    note = models.CharField(_("note"), max_length=300, blank=True, default=TO_BE_CONFIRMED)
    extension_days = models.PositiveSmallIntegerField(
        _("extension without approval (days)"), default=30,
        help_text=_("How many days in all a request of this kind may be extended by its agent; a longer "
                    "extension is approved by a compliance officer (ShipEx's rule, to be confirmed by counsel)."))
    legal_reference_uz, legal_reference_ru = twin_fields(
        models.CharField, _("legal reference (Uzbek)"), _("legal reference (Russian)"), max_length=300)
    note_uz, note_ru = twin_fields(models.CharField, _("note (Uzbek)"), _("note (Russian)"), max_length=300)

    history = audited_history()
    shown = Shown()

    class Meta:
        ordering = ["kind"]
        verbose_name = _("deadline rule")
        verbose_name_plural = _("deadline rules")
        constraints = [
            models.CheckConstraint(condition=Q(days__gte=1), name="deadline_rule_at_least_one_day",
                                   violation_error_message=_("A deadline is at least one day.")),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.days} {self.get_day_count_display()}"

    def due_on(self, received_at: datetime) -> date:
        return add_days(timezone.localdate(received_at), self.days, self.day_count)

    def due_at(self, received_at: datetime) -> datetime:
        return end_of_day(self.due_on(received_at))


class DeadlineChange(models.Model):
    """An extension, pause or resumption of a request's deadline, always with its reason."""

    class Kind(models.TextChoices):
        EXTENSION = "extension", _("Extension")
        PAUSE = "pause", _("Pause (e.g. a legal hold)")
        RESUME = "resume", _("Resumption")

    request = models.ForeignKey(SubjectRequest, verbose_name=_("request"), on_delete=models.PROTECT,
                                related_name="deadline_changes")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    days = models.PositiveSmallIntegerField(_("days added"), default=0)
    reason = models.CharField(_("reason"), max_length=500)
    due_before = models.DateTimeField(_("due before"))
    due_after = models.DateTimeField(_("due after"))
    at = models.DateTimeField(_("at"), default=timezone.now)
    by_id = models.IntegerField(_("by (id)"), null=True, blank=True)
    by_username = models.CharField(_("by"), max_length=150, blank=True)
    beyond_rule = models.BooleanField(_("beyond the rule"), default=False,
                                      help_text=_("Longer than the deadline rule allows; the compliance officer "
                                                  "who made it approved it."))
    letter = models.TextField(_("letter to the subject"), blank=True,
                              help_text=_("The extension letter, in the subject's language, with the reason."))

    history = audited_history()

    class Meta:
        ordering = ["request", "at", "id"]
        verbose_name = _("deadline change")
        verbose_name_plural = _("deadline changes")
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="deadline_change_has_reason",
                                   violation_error_message=_("A deadline change needs a reason.")),
        ]

    def __str__(self) -> str:
        return f"{self.request} · {self.get_kind_display()}"


class ResponseTemplate(models.Model):
    """The text sent to the subject when a request of one kind closes, in one language.

    Placeholders in braces are filled from the request (``PLACEHOLDERS``); the compliance team
    keeps the wording, and every change is in history.
    """

    PLACEHOLDERS = {
        "request_id": _("the request number"),
        "subject_name": _("the subject's name"),
        "received_on": _("the day the request was received"),
        "closed_on": _("today's date"),
        "kind": _("the kind of request"),
        "package_sha256": _("the SHA-256 of the latest access package"),
        "erasure_report": _("what was erased, anonymised and kept, line by line"),
        "due_on": _("the deadline (after an extension, the new one)"),
        "extension_reason": _("why the deadline is extended"),
    }

    class Outcome(models.TextChoices):
        DONE = "done", _("Done")
        REFUSED = "refused", _("Refused")
        EXTENDED = "extended", _("Deadline extended")

    # The outcomes that close a request; an extension letter leaves it open.
    CLOSING_OUTCOMES = (Outcome.DONE, Outcome.REFUSED)
    # An extension letter is kept with its deadline change, which erasure does not touch: it names
    # the request, never the person (so no {subject_name}), and nothing of the closing letters.
    EXTENSION_PLACEHOLDERS = ("request_id", "received_on", "kind", "due_on", "extension_reason")

    kind = models.CharField(_("request kind"), max_length=30, choices=SubjectRequest.Kind.choices)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    language = models.CharField(_("language"), max_length=2, choices=DataSubject.Language.choices)
    body = models.TextField(_("text"))

    history = audited_history()

    class Meta:
        ordering = ["kind", "outcome", "language"]
        verbose_name = _("response template")
        verbose_name_plural = _("response templates")
        constraints = [
            models.UniqueConstraint(fields=["kind", "outcome", "language"], name="response_template_unique"),
            models.CheckConstraint(condition=~Q(body=""), name="response_template_has_text"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.get_outcome_display()} · {self.language}"

    def placeholders(self) -> set[str]:
        """The placeholder names the text uses; ValueError for broken braces."""
        return {name for _text, name, _spec, _conv in Formatter().parse(self.body) if name is not None}

    def clean(self) -> None:
        try:
            names = self.placeholders()
            decorated = any(spec or conv for _text, name, spec, conv in Formatter().parse(self.body) if name)
        except ValueError:
            raise ValidationError({"body": _("Braces must come in pairs, such as {request_id}.")}) from None
        if unknown := sorted(names - set(self.PLACEHOLDERS)):
            raise ValidationError({"body": _("Unknown placeholders: %(names)s. Use only: %(allowed)s.") % {
                "names": ", ".join(f"{{{name}}}" for name in unknown),
                "allowed": ", ".join(f"{{{name}}}" for name in self.PLACEHOLDERS)}})
        if self.outcome == self.Outcome.EXTENDED and (personal := sorted(names - set(self.EXTENSION_PLACEHOLDERS))):
            raise ValidationError({"body": _("An extension letter may use only %(allowed)s (it is kept with the "
                                             "deadline change, without the subject's name); remove %(names)s.") % {
                "names": ", ".join(f"{{{name}}}" for name in personal),
                "allowed": ", ".join(f"{{{name}}}" for name in self.EXTENSION_PLACEHOLDERS)}})
        if decorated:  # {closed_on:d} or {request_id!r}: formatting is ours, not the template's
            raise ValidationError({"body": _("Write placeholders bare, such as {request_id}, without : or !.")})

    def render(self, values: dict[str, str]) -> str:
        return self.body.format_map({name: values.get(name, "") for name in self.PLACEHOLDERS})


def access_package_storage():
    from django.core.files.storage import storages

    return storages["access_packages"]


class AccessPackage(models.Model):
    """A zipped copy of a subject's data (JSON + readable HTML) built for an access request.

    The file holds personal data: it lives in private storage, is downloaded only through the
    admin (each download is logged), and its SHA-256 is kept here so the copy sent can be proven.
    """

    # The file is the subject's data; the rest is the proof of what was sent and stays.
    PERSONAL_DATA_FIELDS = ("file",)
    NON_PERSONAL_FIELDS = ("id", "request", "sha256", "size", "language", "record_count", "built_at", "built_by_id",
                           "built_by_username")

    request = models.ForeignKey(SubjectRequest, verbose_name=_("request"), on_delete=models.PROTECT,
                                related_name="access_packages")
    file = models.FileField(_("file"), storage=access_package_storage, upload_to="%Y/%m/", max_length=300,
                            blank=True, help_text=_("Empty once erased: with the subject's data or at the end of its "
                                                    "retention rule."))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    language = models.CharField(_("language"), max_length=2, choices=DataSubject.Language.choices)
    record_count = models.PositiveIntegerField(_("records included"), default=0)
    built_at = models.DateTimeField(_("built at"), default=timezone.now)
    built_by_id = models.IntegerField(_("built by (id)"), null=True, blank=True)
    built_by_username = models.CharField(_("built by"), max_length=150, blank=True)

    history = audited_history()

    class Meta:
        ordering = ["-built_at", "-id"]
        verbose_name = _("access package")
        verbose_name_plural = _("access packages")
        constraints = [
            models.CheckConstraint(condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="access_package_sha256_hex"),
        ]

    def __str__(self) -> str:
        return f"DSR #{self.request_id} · {self.sha256[:12]}"


class ErasureItem(models.Model):
    """What an erasure request did with one catalogue entry: the line of its result report.

    Entries held in other systems are *tasks* for that system's owner, ticked off one by one.
    One line per request and entry: running the erasure again adds nothing.
    """

    class Outcome(models.TextChoices):
        ERASED = "erased", _("Erased")
        ANONYMISED = "anonymised", _("Anonymised")
        KEPT = "kept", _("Kept")
        NOT_HELD = "not_held", _("Not held")
        TASK = "task", _("Task for the system's owner")

    request = models.ForeignKey(SubjectRequest, verbose_name=_("request"), on_delete=models.PROTECT,
                                related_name="erasure_items")
    field = models.ForeignKey("catalogue.PersonalDataField", verbose_name=_("catalogue entry"),
                              on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices)
    rows = models.PositiveIntegerField(_("records changed"), default=0)
    kept_under = models.CharField(_("kept under"), max_length=300, blank=True)
    kept_until = models.DateField(_("kept until"), null=True, blank=True)
    system = models.ForeignKey("catalogue.System", verbose_name=_("system"), on_delete=models.PROTECT,
                               related_name="+")
    task_done_at = models.DateTimeField(_("task done at"), null=True, blank=True)
    task_done_by_id = models.IntegerField(_("task done by (id)"), null=True, blank=True)
    task_done_by_username = models.CharField(_("task done by"), max_length=150, blank=True)
    task_note = models.CharField(_("note from the system's owner"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    history = audited_history()

    class Meta:
        ordering = ["request", "field__category", "field__code"]
        verbose_name = _("erasure result")
        verbose_name_plural = _("erasure results")
        constraints = [
            models.UniqueConstraint(fields=["request", "field"], name="erasure_item_once_per_field"),
            models.CheckConstraint(condition=~Q(outcome="kept") | ~Q(kept_under=""), name="erasure_item_kept_says_why",
                                   violation_error_message=_("Data kept needs the rule that keeps it.")),
            models.CheckConstraint(condition=Q(task_done_at__isnull=True) | Q(outcome="task"),
                                   name="erasure_item_only_tasks_are_done"),
        ]
        indexes = [models.Index(fields=["outcome", "task_done_at"], name="erasure_item_open_tasks_idx")]

    def __str__(self) -> str:
        return f"DSR #{self.request_id} · {self.get_outcome_display()}"

    @property
    def is_open_task(self) -> bool:
        return self.outcome == self.Outcome.TASK and self.task_done_at is None
