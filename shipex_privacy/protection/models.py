"""Protection of personal data (clause 1.7.1): the register of measures taken, and the incidents.

Clause 1.7.1 promises organisational and technical measures against unauthorised or accidental
access, destruction, modification, blocking, copying and distribution. The measures register
says which measure answers for which of these, who owns it, where an auditor finds the evidence
and when it is reviewed next. The incident register records each time the promise was broken:
what happened, which data and subjects, what was done and who was told. Incidents are evidence:
they are closed, never deleted.
"""

import calendar
import functools
import operator
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, ProtectedError, Q
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from shipex_privacy.audit.history import audited_history
from shipex_privacy.catalogue.models import PersonalDataField
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

    objects = MeasureQuerySet.as_manager()
    history = audited_history()

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
        return self.title

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
    authority_notified_at = models.DateTimeField(_("authority notified at"), null=True, blank=True)
    subjects_notified_at = models.DateTimeField(_("subjects notified at"), null=True, blank=True)
    notification_details = models.TextField(
        _("notification details"), blank=True,
        help_text=_("Which authority and its reference number; how subjects were told; or why nobody was "
                    "notified."),
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
        made = [(_("authority"), self.authority_notified_at), (_("subjects"), self.subjects_notified_at)]
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
