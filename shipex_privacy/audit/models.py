from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .events import AuditEvent


class AuditedHistoryModel(models.Model):
    """Abstract base of every history table; the append-only guards cover all its subclasses."""

    APPEND_ONLY = True

    history_username = models.CharField(_("changed by"), max_length=150, blank=True, default="")
    history_ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        abstract = True


class AccessEvent(models.Model):
    """One read of personal data (clause 1.7.1): who, when, what, which object, from where.

    Append-only like history. The acting staff member is kept as id and username, not as a
    foreign key, so that removing a staff account never touches the log; the subject is kept as
    a plain id for the same reason (and so that the audit app depends on no other app).
    """

    APPEND_ONLY = True
    # Partitioned by month on ``at`` on PostgreSQL (docs/access-log.md): reading a row back by id
    # names it too, so that one partition is searched, not all of them.
    PARTITION_KEY = "at"

    class Action(models.TextChoices):
        SUBJECT_VIEW = "subject.view", _("Opened a data subject")
        SUBJECT_HISTORY = "subject.history", _("Opened a data subject's change history")
        SUBJECT_SEARCH = "subject.search", _("Searched data subjects")
        IDENTIFIER_REVEAL = "identifier.reveal", _("Revealed a masked identifier")
        REVEAL_REFUSED = "identifier.reveal_refused", _("Tried to reveal a masked identifier; refused")
        EXPORT = "export", _("Exported data")
        ACCESS_PACKAGE = "access_package.download", _("Downloaded an access package")
        # A ShipEx app asking what it may do with a subject's data (1.3.2.5, 1.6): many per subject.
        CONSENTS_READ = "subject.consents", _("Read a data subject's consents in force (API)")

    at = models.DateTimeField(_("when"), default=timezone.now)
    user_id = models.IntegerField(_("staff member id"), null=True, blank=True)
    username = models.CharField(_("staff member"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=40, choices=Action.choices)
    object_type = models.CharField(
        _("object type"), max_length=100, blank=True, help_text=_("App label and model, e.g. subjects.datasubject.")
    )
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    subject_id = models.BigIntegerField(_("data subject id"), null=True, blank=True)
    field = models.CharField(
        _("field"), max_length=100, blank=True, help_text=_("Which value was revealed or exported.")
    )
    reason = models.TextField(_("stated reason"), blank=True)
    search_term_hash = models.CharField(
        _("search term (keyed hash)"),
        max_length=64,
        blank=True,
        help_text=_("HMAC-SHA256 of the normalised search term; the term itself is never stored."),
    )
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("access-log entry")
        verbose_name_plural = _("access-log entries")
        indexes = [
            # "Every read of subject X", newest first.
            models.Index(fields=["subject_id", "-at"], name="access_subject_at_idx"),
            # "Every read by staff member Y between two dates".
            models.Index(fields=["user_id", "-at"], name="access_user_at_idx"),
            # The auditor's home (audit/home.py): the last week's reveals, refused reveals and openings.
            models.Index(fields=["action", "-at"], name="access_action_at_home_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(action="identifier.reveal") | ~models.Q(reason=""),
                name="access_reveal_has_reason",
                violation_error_message=_("Revealing a masked value needs a stated reason."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username or '-'} {self.action} {self.object_type}#{self.object_id}"


class TrailEntry(models.Model):
    """One change of one tracked record, in a single table the auditor can search quickly.

    Every history row of every audited model gets one entry, written in the same transaction
    (audit/trail.py). The history row stays the evidence; the entry is its index card: who,
    when, what kind of record, which subject, why, and where to find the full row for the diff.
    One table means a filter over all models is one indexed query, never a UNION of every
    history table.
    """

    APPEND_ONLY = True

    class Action(models.TextChoices):
        CREATED = "+", _("Created")
        CHANGED = "~", _("Changed")
        DELETED = "-", _("Deleted")

    at = models.DateTimeField(_("when"))
    user_id = models.IntegerField(_("staff member id"), null=True, blank=True)
    username = models.CharField(_("staff member"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=1, choices=Action.choices)
    model = models.CharField(_("record type"), max_length=100, help_text=_("App label and model."))
    object_id = models.CharField(_("record id"), max_length=64)
    subject_id = models.BigIntegerField(_("data subject id"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    # What kind of event the change was (audit/events.py), beside the reason in words; empty for
    # rows written before events were typed, and for history that data migrations wrote.
    event = models.CharField(_("event"), max_length=40, choices=AuditEvent.choices, blank=True, default="")
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    history_table = models.CharField(_("history table"), max_length=100)
    history_id = models.BigIntegerField(_("history row"))

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit trail entry")
        verbose_name_plural = _("audit trail")
        constraints = [
            models.UniqueConstraint(fields=["history_table", "history_id"], name="trail_one_entry_per_history_row"),
        ]
        indexes = [
            models.Index(fields=["-at", "-id"], name="trail_at_idx"),
            models.Index(fields=["user_id", "-at"], name="trail_user_at_idx"),
            models.Index(fields=["subject_id", "-at"], name="trail_subject_at_idx"),
            models.Index(fields=["model", "-at"], name="trail_model_at_idx"),
            models.Index(fields=["event", "-at"], name="trail_event_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username or '-'} {self.action} {self.model}#{self.object_id}"


# Tamper evidence (docs/audit.md). These tables are themselves append-only (guarded), but they
# are the evidence, not evidence-bearing rows: they are verified by the seals, not by digests.


class AuditedTable(models.Model):
    """An append-only table whose rows carry digests; digests name it by this small id."""

    APPEND_ONLY = True
    AUDIT_EVIDENCE = True

    name = models.CharField(_("table"), max_length=63)

    class Meta:
        verbose_name = _("audited table")
        verbose_name_plural = _("audited tables")
        constraints = [models.UniqueConstraint(fields=["name"], name="audit_table_name_unique")]

    def __str__(self) -> str:
        return self.name


class RowLayout(models.Model):
    """The columns a digest covers: a column added to a table later does not break old digests."""

    APPEND_ONLY = True
    AUDIT_EVIDENCE = True

    table = models.ForeignKey(AuditedTable, on_delete=models.PROTECT, related_name="layouts")
    columns = models.TextField(_("columns"), help_text=_("Column names, comma-separated, sorted."))

    class Meta:
        verbose_name = _("row layout")
        verbose_name_plural = _("row layouts")
        constraints = [models.UniqueConstraint(fields=["table", "columns"], name="audit_layout_unique")]

    def __str__(self) -> str:
        return f"{self.table}: {self.columns}"


class RowDigest(models.Model):
    """The keyed MAC of one append-only row, written in the same transaction as the row."""

    APPEND_ONLY = True
    AUDIT_EVIDENCE = True

    # No per-column indexes on the foreign keys: the unique (table, row_id) index serves every
    # lookup, and this table grows as fast as the access log.
    table = models.ForeignKey(AuditedTable, on_delete=models.PROTECT, db_index=False)
    row_id = models.BigIntegerField(_("row id"))
    layout = models.ForeignKey(RowLayout, on_delete=models.PROTECT, db_index=False)
    mac = models.BinaryField(_("HMAC-SHA256"), max_length=32)
    created_at = models.DateTimeField(_("written at"), default=timezone.now)

    class Meta:
        verbose_name = _("row digest")
        verbose_name_plural = _("row digests")
        constraints = [
            models.UniqueConstraint(fields=["table", "row_id"], name="audit_digest_row_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.table_id}#{self.row_id}"


class Seal(models.Model):
    """A sealed, contiguous range of digests; each seal's MAC covers the one before it."""

    APPEND_ONLY = True
    AUDIT_EVIDENCE = True

    sealed_at = models.DateTimeField(_("sealed at"), default=timezone.now)
    first_digest_id = models.BigIntegerField(_("first digest id"))
    last_digest_id = models.BigIntegerField(_("last digest id"))
    digest_count = models.PositiveIntegerField(_("digests"))
    manifest = models.BinaryField(_("manifest"), help_text=_("Compressed list of the sealed digests."))
    previous_mac = models.CharField(_("previous seal's MAC"), max_length=64, blank=True)
    mac = models.CharField(_("MAC"), max_length=64)

    class Meta:
        ordering = ["id"]
        verbose_name = _("seal")
        verbose_name_plural = _("seals")
        constraints = [
            # Two seal_audit runs at once cannot both extend the chain from the same place.
            models.UniqueConstraint(fields=["first_digest_id"], name="audit_seal_first_unique"),
            models.CheckConstraint(
                condition=models.Q(last_digest_id__gte=models.F("first_digest_id")), name="audit_seal_range_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} digests {self.first_digest_id}–{self.last_digest_id}"


class AccessLogRetirement(models.Model):
    """The seal of one month of the access log retired as a whole (docs/access-log.md).

    Written in the procedure that detaches and drops the month's partition and its digests, before
    they go: which rows (the manifest lists each one with its digest), the chain value over their
    digests, the rule and the reason, and who. ``verify_audit`` reports the rows it names as
    retired, not removed; its MAC (keyed with AUDIT_SEAL_KEY) shows it was not forged or changed.
    """

    APPEND_ONLY = True
    AUDIT_EVIDENCE = True

    retired_at = models.DateTimeField(_("retired at"), default=timezone.now)
    table = models.CharField(_("table"), max_length=63)
    month = models.DateField(_("month"), help_text=_("The first day of the month retired (UTC)."))
    partition = models.CharField(_("partition"), max_length=63)
    row_count = models.PositiveBigIntegerField(_("rows"))
    first_row_id = models.BigIntegerField(_("first row id"))
    last_row_id = models.BigIntegerField(_("last row id"))
    digests_chain = models.CharField(
        _("chain over the digests"), max_length=64,
        help_text=_("SHA-256 chained over each retired row's id and digest, in id order."))
    manifest = models.BinaryField(_("manifest"), help_text=_("Compressed list of the retired rows and their digests."))
    rule_code = models.CharField(_("retention rule"), max_length=50)
    rule_period = models.CharField(_("retention period"), max_length=50)
    reason = models.TextField(_("reason"))
    user_id = models.IntegerField(_("staff member id"), null=True, blank=True)
    username = models.CharField(_("staff member"), max_length=150, blank=True)
    mac = models.CharField(_("MAC"), max_length=64)

    class Meta:
        ordering = ["month"]
        verbose_name = _("access-log retirement")
        verbose_name_plural = _("access-log retirements")
        constraints = [
            models.UniqueConstraint(fields=["table", "month"], name="audit_retirement_month_unique"),
            models.CheckConstraint(condition=models.Q(last_row_id__gte=models.F("first_row_id")),
                                   name="audit_retirement_range_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.table} {self.month:%Y-%m}: ids {self.first_row_id}–{self.last_row_id} ({self.row_count})"
