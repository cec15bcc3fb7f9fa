"""Staff e-mail: what each staff member chose to receive, and the log of what was sent.

Mails are digests (one each morning) and alerts (a new incident, a failed audit verification).
The sent-log makes every send idempotent: one row per staff member, kind of mail, day and key
(the incident, or the findings of a verification), so a second run sends nothing twice.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shipex_privacy.audit.history import audited_history


class NotificationPreference(models.Model):
    """Which staff e-mail one staff member receives. Without a row, they receive everything (defaults on)."""

    # The choices, in the order the "My e-mail" page shows them.
    CHOICES = ("requests_due", "disclosures_to_approve", "subject_notifications_due", "measure_reviews_overdue",
               "new_incidents", "audit_verification_failed")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("staff member"), on_delete=models.CASCADE,
                                related_name="mail_preferences")
    requests_due = models.BooleanField(
        _("my requests due within 3 days or overdue"), default=True,
        help_text=_("In the morning digest: the data-subject requests assigned to you."))
    disclosures_to_approve = models.BooleanField(
        _("disclosures waiting for my approval"), default=True,
        help_text=_("In the morning digest: disclosures other officers submitted for approval."))
    subject_notifications_due = models.BooleanField(
        _("subject notifications due (ZRU-547 art. 23)"), default=True,
        help_text=_("In the morning digest: subjects still to be told of a disclosure within three days."))
    measure_reviews_overdue = models.BooleanField(
        _("protection-measure reviews overdue"), default=True,
        help_text=_("In the morning digest: measures (1.7.1) whose review date has passed."))
    new_incidents = models.BooleanField(
        _("a new incident, at once"), default=True,
        help_text=_("Sent as soon as an incident is recorded."))
    audit_verification_failed = models.BooleanField(
        _("a failed audit verification, at once"), default=True,
        help_text=_("Sent as soon as verify_audit finds history or access-log rows altered."))
    updated_at = models.DateTimeField(_("changed at"), default=timezone.now)

    history = audited_history()

    class Meta:
        verbose_name = _("e-mail preference")
        verbose_name_plural = _("e-mail preferences")

    def __str__(self) -> str:
        return str(self.user)


class SentMail(models.Model):
    """One mail sent to one staff member: the proof that a second run the same day sends nothing."""

    class Kind(models.TextChoices):
        DIGEST = "digest", _("Morning digest")
        INCIDENT = "incident", _("New incident")
        AUDIT_VERIFICATION = "audit_verification", _("Audit verification failed")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("staff member"), on_delete=models.CASCADE,
                             related_name="+")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    day = models.DateField(_("day"))
    # What the mail was about, within its kind and day: an incident's id, a digest of the findings.
    key = models.CharField(_("about"), max_length=64, blank=True)
    items = models.PositiveIntegerField(_("items"), default=0)
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        ordering = ["-sent_at", "-id"]
        verbose_name = _("staff e-mail sent")
        verbose_name_plural = _("staff e-mail sent")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "day", "key"], name="sent_mail_once_a_day"),
        ]
        indexes = [models.Index(fields=["kind", "day"], name="sent_mail_kind_day_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.user_id} · {self.day}"
