"""Protection of personal data (clause 1.7.1): the register of measures taken, and the incidents.

Clause 1.7.1 promises organisational and technical measures against unauthorised or accidental
access, destruction, modification, blocking, copying and distribution. The measures register
says which measure answers for which of these, who owns it, where an auditor finds the evidence
and when it is reviewed next. The incident register records each time the promise was broken:
what happened, which data and subjects, what was done and who was told. Incidents are evidence:
they are closed, never deleted.

Two registers follow the law around the policy (issue 14), each marked for counsel to confirm:
the protection level decided for each ShipEx system, with its re-assessment, and the person or
unit responsible for the processing of personal data, past and present.
"""

import calendar
import functools
import operator
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import BooleanField, ExpressionWrapper, F, ProtectedError, Q
from django.utils import formats, timezone
from django.utils.text import capfirst, format_lazy
from django.utils.translation import gettext_lazy as _

from shipex_privacy.audit.history import audited_history
from shipex_privacy.catalogue.models import PersonalDataField, System
from shipex_privacy.core.authority import AUTHORITY_NAME
from shipex_privacy.core.fields import LowercaseEmailField, PhoneField
from shipex_privacy.core.i18n import Shown, twin_fields
from shipex_privacy.subjects.models import DataSubject

# The protections clause 1.7.1 names, one boolean each on Measure (field name: short label):
# "every measure against copying" is then a plain filter, and the register stays one table.
PROTECTIONS = {
    "against_access": _("access"),
    "against_destruction": _("destruction"),
    "against_modification": _("modification"),
    "against_blocking": _("blocking"),
    "against_copying": _("copying"),
    "against_distribution": _("distribution"),
}
PROTECTION_FIELDS = tuple(PROTECTIONS)

# The admin's "Now" button takes the browser's clock; a few minutes of skew is not "the future".
CLOCK_SKEW = timedelta(minutes=5)


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months; the 31st becomes the last day of a shorter month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


class MeasureQuerySet(models.QuerySet):
    def overdue(self, today: date | None = None) -> "MeasureQuerySet":
        """Measures still in use whose next review is before ``today`` (due today is not overdue yet).

        ``status IN (…) AND next_review_on < today`` is a range scan of measure_review_due_idx.
        """
        today = today or timezone.localdate()
        return self.filter(status__in=Measure.REVIEWED_STATUSES, next_review_on__lt=today)


class Measure(models.Model):
    """An organisational or technical measure that protects personal data (1.7.1)."""

    class Kind(models.TextChoices):
        ORGANISATIONAL = "organisational", _("Organisational")
        TECHNICAL = "technical", _("Technical")

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        IN_PLACE = "in_place", _("In place")
        RETIRED = "retired", _("Retired")

    # A plan is reviewed too (a measure planned long ago and never put in place is a finding);
    # a retired measure is not.
    REVIEWED_STATUSES = (Status.PLANNED, Status.IN_PLACE)

    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    description = models.TextField(_("description"), blank=True)
    owner = models.CharField(_("owner"), max_length=200, help_text=_("Team or person who answers for this measure."))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PLANNED)
    evidence = models.CharField(
        _("evidence"), max_length=500, blank=True,
        help_text=_("Where an auditor can check it: a document, a ticket, a link. Needed once the measure is in "
                    "place."),
    )
    last_reviewed_on = models.DateField(_("last reviewed on"))
    review_every_months = models.PositiveSmallIntegerField(
        _("review every (months)"), default=12, help_text=_("For example 3 for a quarterly review.")
    )
    # Stored rather than computed on read, so that "review overdue" is an indexed range query;
    # kept in step with the two fields above by clean() and save(), never edited by hand.
    next_review_on = models.DateField(_("next review"), editable=False)

    against_access = models.BooleanField(_("1.7.1 — unauthorised or accidental access"), default=False)
    against_destruction = models.BooleanField(_("1.7.1 — destruction"), default=False)
    against_modification = models.BooleanField(_("1.7.1 — modification"), default=False)
    against_blocking = models.BooleanField(_("1.7.1 — blocking"), default=False)
    against_copying = models.BooleanField(_("1.7.1 — copying"), default=False)
    against_distribution = models.BooleanField(_("1.7.1 — distribution"), default=False)
    title_uz, title_ru = twin_fields(models.CharField, _("title (Uzbek)"), _("title (Russian)"), max_length=200)
    owner_uz, owner_ru = twin_fields(models.CharField, _("owner (Uzbek)"), _("owner (Russian)"), max_length=200)
    description_uz, description_ru = twin_fields(models.TextField, _("description (Uzbek)"), _("description (Russian)"))

    objects = MeasureQuerySet.as_manager()
    history = audited_history()
    shown = Shown()

    class Meta:
        ordering = ["next_review_on", "title"]
        verbose_name = _("protection measure")
        verbose_name_plural = _("protection measures")
        indexes = [models.Index(fields=["status", "next_review_on"], name="measure_review_due_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(review_every_months__gt=0), name="measure_review_interval_positive",
                violation_error_message=_("A measure is reviewed at least once every so many months: "
                                          "the interval must be one month or more."),
            ),
            models.CheckConstraint(
                condition=functools.reduce(operator.or_, (Q(**{name: True}) for name in PROTECTION_FIELDS)),
                name="measure_protects_against_something",
                violation_error_message=_("Tick at least one protection of clause 1.7.1 that this measure gives."),
            ),
            models.CheckConstraint(
                condition=~Q(status="in_place") | ~Q(evidence=""), name="measure_in_place_has_evidence",
                violation_error_message=_("A measure in place needs its evidence: a document, a ticket or a "
                                          "link an auditor can check."),
            ),
        ]

    def __str__(self) -> str:
        return self.shown.title

    def save(self, *args, **kwargs):
        self.derive_next_review()  # every save path, not only forms: the stored date never goes stale
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"last_reviewed_on", "review_every_months"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "next_review_on"}
        super().save(*args, **kwargs)

    @property
    def protections(self) -> list[str]:
        """Short labels of the 1.7.1 protections this measure gives."""
        return [str(label) for name, label in PROTECTIONS.items() if getattr(self, name)]

    def is_review_overdue(self, today: date | None = None) -> bool:
        """The same rule as ``Measure.objects.overdue()``, for one measure already in memory."""
        today = today or timezone.localdate()
        due = self.next_review_on
        return self.status in self.REVIEWED_STATUSES and due is not None and due < today

    def derive_next_review(self) -> None:
        if self.last_reviewed_on is not None and self.review_every_months is not None:
            self.next_review_on = add_months(self.last_reviewed_on, self.review_every_months)

    def clean(self) -> None:
        if self.last_reviewed_on and self.last_reviewed_on > timezone.localdate():
            raise ValidationError({"last_reviewed_on": _("The last review cannot be in the future.")})
        # Before validate_constraints and save(), so both see the date that will be stored.
        self.derive_next_review()


class IncidentQuerySet(models.QuerySet):
    def delete(self):
        # A bulk delete skips Incident.delete(); incidents are evidence either way.
        raise ProtectedError(str(Incident.NEVER_DELETED), set(self))


class Incident(models.Model):
    """A breach of the protection promised in 1.7.1: what happened, to which data, what was done."""

    NEVER_DELETED = _("An incident is evidence and is never deleted; close it instead.")

    class Severity(models.TextChoices):
        LOW = "low", _("Low — no likely effect on subjects")
        MEDIUM = "medium", _("Medium — limited effect on subjects")
        HIGH = "high", _("High — likely harm to subjects’ rights")
        CRITICAL = "critical", _("Critical — serious harm, many subjects or special data")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CONTAINED = "contained", _("Contained")
        CLOSED = "closed", _("Closed")

    title = models.CharField(_("what happened, in one line"), max_length=200)
    description = models.TextField(
        _("what happened"), help_text=_("How it happened, what was exposed, and how it was found.")
    )
    occurred_at = models.DateTimeField(
        _("when it happened"), help_text=_("Best estimate if the exact time is not known; say so above.")
    )
    found_at = models.DateTimeField(_("when it was found"))
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    fields = models.ManyToManyField(
        PersonalDataField, verbose_name=_("data affected"), through="IncidentField", related_name="incidents",
        blank=True,
    )
    subjects = models.ManyToManyField(
        DataSubject, verbose_name=_("subjects affected"), through="IncidentSubject", related_name="incidents",
        blank=True,
    )
    subject_count = models.PositiveIntegerField(
        _("number of subjects affected"), null=True, blank=True,
        help_text=_("When the subjects are not all known by name: how many were affected (an estimate is "
                    "fine; say so in the description)."),
    )
    actions_taken = models.TextField(_("actions taken"), blank=True)
    authority_notified_at = models.DateTimeField(
        _("authority notified at"), null=True, blank=True,
        help_text=format_lazy(_("When the {authority} was notified."), authority=AUTHORITY_NAME),
    )
    subjects_notified_at = models.DateTimeField(_("subjects notified at"), null=True, blank=True)
    notification_details = models.TextField(
        _("notification details"), blank=True,
        help_text=format_lazy(_("The reference number the {authority} gave; how subjects were told; or why "
                                "nobody was notified."), authority=AUTHORITY_NAME),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    reported_by = models.CharField(
        _("reported by"), max_length=200,
        help_text=_("Who reported it: a staff member, a courier, a customer, a partner."),
    )

    objects = IncidentQuerySet.as_manager()
    history = audited_history()

    class Meta:
        ordering = ["-found_at", "-id"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        indexes = [models.Index(fields=["status", "-found_at"], name="incident_status_found_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(found_at__gte=F("occurred_at")), name="incident_found_after_occurred",
                violation_error_message=_("An incident cannot be found before it happened: “when it was found” "
                                          "must be on or after “when it happened”."),
            ),
            models.CheckConstraint(
                condition=Q(status="closed", closed_at__isnull=False) | (~Q(status="closed") & Q(closed_at=None)),
                name="incident_closed_has_closed_at",
                violation_error_message=_("A closed incident needs the time it was closed, and only a closed "
                                          "incident has one."),
            ),
            models.CheckConstraint(
                condition=Q(closed_at=None) | Q(closed_at__gte=F("found_at")), name="incident_closed_after_found",
                violation_error_message=_("An incident cannot be closed before it was found."),
            ),
            models.CheckConstraint(
                condition=(Q(authority_notified_at=None) | Q(authority_notified_at__gte=F("found_at")))
                & (Q(subjects_notified_at=None) | Q(subjects_notified_at__gte=F("found_at"))),
                name="incident_notified_after_found",
                violation_error_message=_("Nobody can have been notified of an incident before it was found."),
            ),
        ]

    def __str__(self) -> str:
        return f"№ {self.pk} · {self.title}"

    @property
    def notified(self) -> list[tuple[str, object]]:
        """(who, when) for each notification made; empty when nobody was notified."""
        made = [(AUTHORITY_NAME, self.authority_notified_at), (_("subjects"), self.subjects_notified_at)]
        return [(str(who), when) for who, when in made if when is not None]

    def clean(self) -> None:
        latest = timezone.now() + CLOCK_SKEW
        errors = {
            name: _("%(field)s cannot be in the future.") % {
                "field": capfirst(self._meta.get_field(name).verbose_name)}
            for name in ("occurred_at", "found_at", "authority_notified_at", "subjects_notified_at", "closed_at")
            if getattr(self, name) is not None and getattr(self, name) > latest
        }
        if errors:
            raise ValidationError(errors)

    def delete(self, *args, **kwargs):
        raise ProtectedError(str(self.NEVER_DELETED), {self})


class IncidentField(models.Model):
    """A kind of personal data an incident affected (a catalogue entry)."""

    incident = models.ForeignKey(
        Incident, verbose_name=_("incident"), on_delete=models.PROTECT, related_name="field_links"
    )
    field = models.ForeignKey(
        PersonalDataField, verbose_name=_("data"), on_delete=models.PROTECT, related_name="incident_links"
    )

    history = audited_history()

    class Meta:
        ordering = ["incident", "field"]
        verbose_name = _("data affected")
        verbose_name_plural = _("data affected")
        constraints = [models.UniqueConstraint(fields=["incident", "field"], name="incident_field_once")]

    def __str__(self) -> str:
        return f"{self.incident_id} · {self.field.code}"


class IncidentSubject(models.Model):
    """A data subject an incident affected, known by name."""

    # Links a subject to an incident and holds no value of the subject's own (as PublicChoice).
    PERSONAL_DATA_FIELDS = ()
    NON_PERSONAL_FIELDS = ("id", "incident", "subject")

    incident = models.ForeignKey(
        Incident, verbose_name=_("incident"), on_delete=models.PROTECT, related_name="subject_links"
    )
    subject = models.ForeignKey(
        DataSubject, verbose_name=_("data subject"), on_delete=models.PROTECT, related_name="incident_links"
    )

    history = audited_history()

    class Meta:
        ordering = ["incident", "id"]
        verbose_name = _("subject affected")
        verbose_name_plural = _("subjects affected")
        constraints = [models.UniqueConstraint(fields=["incident", "subject"], name="incident_subject_once")]

    def __str__(self) -> str:
        return f"{self.incident_id} · {self.subject_id}"


# Shown to staff (the admin's fieldset descriptions), never to subjects: what each register rests
# on, where we read it, and that counsel has yet to confirm it (issue 14).
PROTECTION_LEVEL_SOURCE = _(
    "Cabinet of Ministers resolution no. 570 of 05.10.2022, Regulation on determining the levels of protection "
    "of personal data during their processing: four levels, chosen from the threats to the data. Source: public "
    "summaries by Uzbek law firms (Azizov & Partners, 28.11.2022). To be confirmed by counsel."
)
RESPONSIBLE_PERSON_SOURCE = _(
    "Articles 8 and 31 of Law ZRU-547 on personal data; Ministry of Justice orders 19-mx and 20-mx of November "
    "2023. Source: public summaries of the law by Uzbek law firms. To be confirmed by counsel."
)


class ProtectionLevelQuerySet(models.QuerySet):
    def overdue(self, today: date | None = None) -> "ProtectionLevelQuerySet":
        """Levels whose re-assessment was due before ``today`` (due today is not overdue yet), as
        ``Measure.objects.overdue()``; a range scan of protection_level_reassess_idx."""
        today = today or timezone.localdate()
        return self.filter(reassess_by__lt=today)


class ProtectionLevel(models.Model):
    """The protection level decided for one ShipEx system (resolution no. 570), and why.

    One row per system: a re-assessment edits it, and the history keeps every earlier decision.
    """

    class Level(models.IntegerChoices):
        # The resolution sets four levels; their names here are ours, to be confirmed by counsel.
        LEVEL_1 = 1, _("Level 1")
        LEVEL_2 = 2, _("Level 2")
        LEVEL_3 = 3, _("Level 3")
        LEVEL_4 = 4, _("Level 4")

    system = models.OneToOneField(
        System, verbose_name=_("system"), on_delete=models.PROTECT, related_name="protection_level"
    )
    level = models.PositiveSmallIntegerField(
        _("protection level"), choices=Level.choices,
        help_text=_("As resolution no. 570 of 05.10.2022 sets the levels (to be confirmed by counsel)."),
    )
    reasoning = models.TextField(
        _("reasoning"),
        help_text=_("Why this level: the data the system holds, how many subjects, the threats considered."),
    )
    decided_by = models.CharField(
        _("decided by"), max_length=200, help_text=_("Who decided the level: a name and position, or a body."),
    )
    decided_on = models.DateField(_("decided on"))
    reassess_by = models.DateField(_("re-assessment due"), help_text=_("When the level is to be assessed again."))

    objects = ProtectionLevelQuerySet.as_manager()
    history = audited_history()

    class Meta:
        ordering = ["reassess_by", "system__name"]
        verbose_name = _("protection level")
        verbose_name_plural = _("protection levels")
        indexes = [models.Index(fields=["reassess_by"], name="protection_level_reassess_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(level__gte=1, level__lte=4), name="protection_level_one_to_four",
                violation_error_message=_("The protection level is one of the four levels, 1 to 4."),
            ),
            models.CheckConstraint(
                condition=~Q(reasoning=""), name="protection_level_has_reasoning",
                violation_error_message=_("Say why the system has this level."),
            ),
            models.CheckConstraint(
                condition=Q(reassess_by__gt=F("decided_on")), name="protection_level_reassess_after_decision",
                violation_error_message=_("The re-assessment is due after the day the level was decided."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.system} · {self.get_level_display()}"

    def is_reassessment_overdue(self, today: date | None = None) -> bool:
        """The same rule as ``ProtectionLevel.objects.overdue()``, for one level already in memory."""
        today = today or timezone.localdate()
        return self.reassess_by is not None and self.reassess_by < today

    def clean(self) -> None:
        if self.decided_on and self.decided_on > timezone.localdate():
            raise ValidationError({"decided_on": _("The decision cannot be in the future.")})


class ResponsiblePersonQuerySet(models.QuerySet):
    def current(self, at: date | None = None) -> "ResponsiblePerson | None":
        """Who was responsible on ``at`` (a date or a time; today when not given), or None."""
        day = at or timezone.localdate()
        if hasattr(day, "tzinfo"):  # a datetime: the day it was in Tashkent
            day = timezone.localdate(day) if timezone.is_aware(day) else day.date()
        return self.filter(Q(until=None) | Q(until__gte=day), since__lte=day).order_by("-since", "-pk").first()


class ResponsiblePerson(models.Model):
    """The person or unit responsible for the processing of personal data at ShipEx (arts. 8 and 31
    of ZRU-547), appointed by an order of ShipEx, and how subjects reach them.

    Past appointments stay: a successor closes the current one (``until``) and nothing is deleted,
    so a letter of any day can say who answered for the data then.
    """

    class Kind(models.TextChoices):
        PERSON = "person", _("Responsible person")
        UNIT = "unit", _("Responsible unit")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PERSON)
    name = models.CharField(_("name"), max_length=200, help_text=_("The person's full name, or the unit's name."))
    position = models.CharField(
        _("position or unit"), max_length=200, blank=True,
        help_text=_("The person's position, or the department the unit belongs to."),
    )
    order_number = models.CharField(_("order number"), max_length=50, help_text=_("ShipEx's order of appointment."))
    order_date = models.DateField(_("order date"))
    since = models.DateField(_("responsible since"))
    until = models.DateField(
        _("responsible until"), null=True, blank=True,
        help_text=_("The last day, once replaced; empty while current. Past appointments stay in the register."),
    )
    phone = PhoneField(_("phone"), blank=True)
    email = LowercaseEmailField(_("e-mail"), blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)

    objects = ResponsiblePersonQuerySet.as_manager()
    history = audited_history()

    CURRENT_CONSTRAINT = "responsible_person_one_current"

    class Meta:
        ordering = ["-since", "-id"]
        verbose_name = _("responsible person or unit")
        verbose_name_plural = _("responsible person or unit")
        indexes = [models.Index(fields=["since", "until"], name="responsible_person_period_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(until=None) | Q(until__gte=F("since")), name="responsible_person_until_after_since",
                violation_error_message=_("The responsibility cannot end before it began."),
            ),
            models.CheckConstraint(
                condition=Q(order_date__lte=F("since")), name="responsible_person_order_before_since",
                violation_error_message=_("The responsibility begins on or after the day of the order that "
                                          "appointed it."),
            ),
            models.CheckConstraint(
                condition=~Q(phone="") | ~Q(email="") | ~Q(address=""), name="responsible_person_reachable",
                violation_error_message=_("Subjects must be able to reach the responsible person: give a phone, "
                                          "an e-mail or an address."),
            ),
            # At most one current appointment: a unique index on a constant, over the open rows only.
            models.UniqueConstraint(
                ExpressionWrapper(Q(until=None), output_field=BooleanField()), condition=Q(until=None),
                name="responsible_person_one_current",
                violation_error_message=_("Only one responsible person or unit is current at a time; appoint "
                                          "the new one in its own record, and the current one is closed."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({formats.localize(self.since)} – {formats.localize(self.until) if self.until else '…'})"

    def predecessor(self) -> "ResponsiblePerson | None":
        """The current appointment a new one, starting later, replaces."""
        if self.pk is not None or self.since is None or self.until is not None:
            return None
        return ResponsiblePerson.objects.filter(until=None, since__lt=self.since).first()

    def validate_constraints(self, exclude=None):
        # A new appointment replaces the current one (responsible_person_appoint closes it in the
        # same transaction); the database still holds the rule when the rows are written.
        if self.predecessor() is not None:
            exclude = {*(exclude or ()), "until"}
        super().validate_constraints(exclude=exclude)

    def clean(self) -> None:
        if self.since is None:
            return
        replaced = self.predecessor()
        overlapping = ResponsiblePerson.objects.exclude(pk=self.pk).filter(Q(until=None) | Q(until__gte=self.since))
        if self.until is not None:
            overlapping = overlapping.filter(since__lte=self.until)
        if replaced is not None:
            overlapping = overlapping.exclude(pk=replaced.pk)
        if clash := overlapping.first():
            raise ValidationError(_("This period overlaps the appointment of %(name)s; one person or unit is "
                                    "responsible on any day.") % {"name": clash})
