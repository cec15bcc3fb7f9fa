"""What the background jobs did: one ``JobRun`` per run (or refused second copy) of a scheduled job."""

from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class JobRunQuerySet(models.QuerySet):
    def finished(self):
        return self.exclude(outcome=JobRun.Outcome.RUNNING)

    def older_than(self, days: int):
        return self.finished().filter(started_at__lt=timezone.now() - timedelta(days=days))

    def last_of(self, job: str):
        """The newest finished run of ``job``, or None (an indexed lookup: job_run_job_started_idx)."""
        return self.finished().filter(job=job).order_by("-started_at", "-id").first()


class JobRun(models.Model):
    """One run of a job written with ``recorded_job``: when, how long, how it ended, what it did.

    Written by jobs only, never in the admin; it holds counts and error text, never personal data.
    """

    class Outcome(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        # Another copy of the job held the lock (another worker, another machine): this one did nothing.
        SKIPPED = "skipped", _("Skipped: another copy was running")
        # Its worker died (killed, machine down) before it finished; the next run of the job found it.
        INTERRUPTED = "interrupted", _("Interrupted")

    job = models.CharField(_("job"), max_length=100)
    task_id = models.CharField(_("task id"), max_length=255, blank=True)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    duration = models.DurationField(_("duration"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, default=Outcome.RUNNING)
    summary = models.JSONField(_("what it did"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    host = models.CharField(_("worker"), max_length=255, blank=True,
                            help_text=_("The machine and process that ran it."))

    objects = JobRunQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("job run")
        verbose_name_plural = _("job runs")
        constraints = [
            models.CheckConstraint(condition=Q(outcome__in=["running", "succeeded", "failed", "skipped",
                                                            "interrupted"]),
                                   name="job_run_outcome_known"),
            # Finished means it says when; running means it has not.
            models.CheckConstraint(condition=Q(outcome="running", finished_at__isnull=True)
                                   | (~Q(outcome="running") & Q(finished_at__isnull=False)),
                                   name="job_run_finished_when_not_running"),
            models.CheckConstraint(condition=Q(finished_at__isnull=True) | Q(finished_at__gte=models.F("started_at")),
                                   name="job_run_finishes_after_start"),
            models.CheckConstraint(condition=~Q(outcome="failed") | ~Q(error=""), name="job_run_failure_says_why"),
        ]
        indexes = [
            models.Index(fields=["job", "-started_at"], name="job_run_job_started_idx"),
            models.Index(fields=["outcome", "job"], name="job_run_outcome_idx",
                         condition=Q(outcome="running")),
        ]

    def __str__(self) -> str:
        return f"{self.job} · {timezone.localtime(self.started_at):%Y-%m-%d %H:%M:%S}"

    def finish(self, *, outcome: str, summary: dict | None = None, error: str = "", at=None) -> None:
        self.finished_at = at or timezone.now()
        self.duration = self.finished_at - self.started_at
        self.outcome, self.error = outcome, error
        if summary is not None:
            self.summary = summary
        self.full_clean()
        self.save()
