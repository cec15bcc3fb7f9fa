"""Keeping data only as long as the catalogue says (1.3.1): legal holds and retention runs.

The catalogue's retention rules say how long each kind of personal data is kept and what happens
at the end (delete or anonymise). ``manage.py apply_retention`` applies them and leaves a
``RetentionRun`` with counts per rule; a legal hold on a subject stops both the run and an
erasure request from touching that subject's data until the hold is released.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shipex_privacy.audit.history import audited_history


class LegalHoldQuerySet(models.QuerySet):
    def active(self):
        return self.filter(released_at__isnull=True)


class LegalHold(models.Model):
    """An order or dispute that requires a subject's data to be kept whatever its retention."""

    subject = models.ForeignKey("subjects.DataSubject", verbose_name=_("data subject"), on_delete=models.PROTECT,
                                related_name="legal_holds")
    reason = models.CharField(_("reason"), max_length=500)
    legal_reference = models.CharField(_("legal reference"), max_length=300,
                                       help_text=_("The order, case or law that requires the data to be kept."))
    placed_at = models.DateTimeField(_("placed at"), default=timezone.now)
    placed_by_id = models.IntegerField(_("placed by (id)"), null=True, blank=True)
    placed_by_username = models.CharField(_("placed by"), max_length=150, blank=True)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    released_by_id = models.IntegerField(_("released by (id)"), null=True, blank=True)
    released_by_username = models.CharField(_("released by"), max_length=150, blank=True)
    release_reason = models.CharField(_("why it was released"), max_length=500, blank=True)

    objects = LegalHoldQuerySet.as_manager()
    history = audited_history()

    class Meta:
        ordering = ["-placed_at", "-id"]
        verbose_name = _("legal hold")
        verbose_name_plural = _("legal holds")
        constraints = [
            models.CheckConstraint(condition=~Q(reason="") & ~Q(legal_reference=""), name="legal_hold_says_why",
                                   violation_error_message=_("A legal hold needs a reason and a legal reference.")),
            models.CheckConstraint(condition=Q(released_at__isnull=True) | ~Q(release_reason=""),
                                   name="legal_hold_release_says_why",
                                   violation_error_message=_("Say why the legal hold is released.")),
            models.UniqueConstraint(fields=["subject", "legal_reference"], condition=Q(released_at__isnull=True),
                                    name="legal_hold_one_active_per_reference",
                                    violation_error_message=_("This subject is already under a legal hold for this "
                                                              "reference.")),
        ]
        indexes = [models.Index(fields=["subject", "released_at"], name="legal_hold_active_idx")]

    def __str__(self) -> str:
        return f"{self.subject} · {self.legal_reference}"

    @property
    def is_active(self) -> bool:
        return self.released_at is None


class RetentionRun(models.Model):
    """One run of ``apply_retention`` (or its dry run): who, when, and how it ended."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")
        FAILED = "failed", _("Failed")
        # The process died (killed, machine down); the next run found it and counted from history.
        INTERRUPTED = "interrupted", _("Interrupted")

    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    dry_run = models.BooleanField(_("dry run"), default=False)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.RUNNING)
    started_by = models.CharField(_("started by"), max_length=150,
                                  help_text=_("The staff member or the scheduler that ran it."))
    error = models.TextField(_("error"), blank=True)

    history = audited_history()

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("retention run")
        verbose_name_plural = _("retention runs")

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} · {self.get_status_display()}"


class RetentionRunCount(models.Model):
    """How many records one rule touched in one run, per model, and how many it had to leave."""

    run = models.ForeignKey(RetentionRun, verbose_name=_("run"), on_delete=models.PROTECT, related_name="counts")
    rule = models.ForeignKey("catalogue.RetentionRule", verbose_name=_("retention rule"), on_delete=models.PROTECT,
                             related_name="+")
    model = models.CharField(_("records of"), max_length=100)
    expired = models.PositiveIntegerField(_("past retention"), default=0)
    deleted = models.PositiveIntegerField(_("deleted"), default=0)
    anonymised = models.PositiveIntegerField(_("anonymised"), default=0)
    held = models.PositiveIntegerField(_("kept: legal hold"), default=0)
    failed = models.PositiveIntegerField(_("failed, left unchanged"), default=0)
    note = models.CharField(_("note"), max_length=300, blank=True,
                            help_text=_("Why a rule was not applied to these records, or what failed."))
    # Record ids only (never their content), so a dry run shows which records it means.
    examples = models.CharField(_("example records"), max_length=200, blank=True)

    history = audited_history()

    class Meta:
        ordering = ["run", "rule", "model"]
        verbose_name = _("retention run count")
        verbose_name_plural = _("retention run counts")
        constraints = [
            models.UniqueConstraint(fields=["run", "rule", "model"], name="retention_count_once_per_rule_model"),
        ]

    def __str__(self) -> str:
        return f"#{self.run_id} · {self.model}"
