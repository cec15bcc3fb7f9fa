"""Third-party recipients and disclosures of personal data, checked against clause 1.4.

A disclosure names exactly one ground of 1.4.3, is approved by a second person, and is frozen
once sent: the database refuses any change to a sent disclosure, its fields and its subjects;
a correction is a new disclosure that points to the one it corrects.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shipex_privacy.audit.history import audited_history
from shipex_privacy.catalogue.models import (
    COUNTRY_CODE,
    HOME_COUNTRY,
    PersonalDataField,
    Purpose,
    Service,
    TransferAbroad,
    TransferMechanism,
    abroad_needs_mechanism,
    transfer_summary,
)
from shipex_privacy.consents.models import Consent, ConsentEvent, RecipientKind
from shipex_privacy.core import identifiers
from shipex_privacy.core.fields import NormalisedCharField
from shipex_privacy.subjects.models import DataSubject

TRANSFER_CLAUSE = "ZRU-547 art. 15"  # cross-border transfer, as amended by ZRU-1125 of 26.03.2026
NOTIFY_WITHIN_DAYS = 3  # ZRU-547 art. 23: in writing within three (calendar) days of the disclosure


class TinField(NormalisedCharField):
    """An Uzbek TIN (STIR), stored as nine ASCII digits however it was typed (``normalise_tin`` refuses
    anything else, digits of other scripts are made ASCII first: the one rule of every identifier)."""

    normalise = staticmethod(identifiers.normalise_tin)


class Recipient(TransferAbroad):
    """A third party that may receive personal data from ShipEx."""

    legal_name = models.CharField(_("legal name"), max_length=300)
    tin = TinField(_("TIN (STIR)"), max_length=9, blank=True,
                   help_text=_("Nine digits; empty for a foreign recipient without one."))
    country = models.CharField(_("country"), max_length=2, default=HOME_COUNTRY, validators=[COUNTRY_CODE])
    kind = models.CharField(_("kind"), max_length=30, choices=RecipientKind.choices)
    contract_reference = models.CharField(_("contract or data-processing agreement"), max_length=200, blank=True)
    contract_starts_on = models.DateField(_("contract in force from"), null=True, blank=True)
    contract_ends_on = models.DateField(_("contract in force until"), null=True, blank=True)
    services = models.ManyToManyField(Service, verbose_name=_("services it serves (1.4.3.2)"), blank=True,
                                      related_name="recipients")
    obligations_accepted_on = models.DateField(
        _("accepted the policy's obligations in writing on (1.4.3.4)"), null=True, blank=True
    )
    obligations_document = models.CharField(_("document of that acceptance"), max_length=200, blank=True)
    review_on = models.DateField(_("next review"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    history = audited_history(m2m_fields=[services])

    class Meta:
        ordering = ["legal_name"]
        verbose_name = _("recipient")
        verbose_name_plural = _("recipients")
        constraints = [
            abroad_needs_mechanism(
                "recipient_abroad_needs_mechanism",
                _("A recipient outside Uzbekistan needs a cross-border transfer mechanism."),
            ),
            models.CheckConstraint(
                condition=Q(contract_ends_on__isnull=True) | Q(contract_starts_on__isnull=True)
                | Q(contract_ends_on__gte=models.F("contract_starts_on")),
                name="recipient_contract_dates_in_order",
                violation_error_message=_("The contract cannot end before it starts."),
            ),
        ]

    def __str__(self) -> str:
        return self.legal_name

    def clean(self) -> None:
        self.clean_transfer()

    def contract_in_force(self, on: date) -> bool:
        return bool(self.contract_reference) and (
            self.contract_starts_on is not None and self.contract_starts_on <= on
            and (self.contract_ends_on is None or on <= self.contract_ends_on)
        )


class PublicChoice(models.Model):
    """A subject made one of their fields available to everyone by their own choice (1.4.2)."""

    PERSONAL_DATA_FIELDS = ()
    NON_PERSONAL_FIELDS = ("id", "subject", "field", "made_public_on", "evidence")

    subject = models.ForeignKey(DataSubject, verbose_name=_("data subject"), on_delete=models.PROTECT,
                                related_name="public_choices")
    field = models.ForeignKey(PersonalDataField, verbose_name=_("field"), on_delete=models.PROTECT,
                              related_name="public_choices")
    made_public_on = models.DateField(_("made public on"))
    evidence = models.CharField(_("evidence"), max_length=300, help_text=_("Where and how the subject published it."))

    history = audited_history()

    class Meta:
        verbose_name = _("data made public by the subject")
        verbose_name_plural = _("data made public by subjects")
        constraints = [models.UniqueConstraint(fields=["subject", "field"], name="public_choice_once")]

    def __str__(self) -> str:
        return f"{self.subject} · {self.field.code}"


class DisclosureQuerySet(models.QuerySet):
    def waiting_for_approval(self, user) -> "DisclosureQuerySet":
        """Submitted disclosures ``user`` may approve: never their own (four eyes); disclosure_status_idx."""
        return self.filter(status=Disclosure.Status.SUBMITTED).exclude(created_by_id=user.pk)


class Disclosure(models.Model):
    """Personal data given to a third party: who got which fields of which subjects, on which ground."""

    # Once sent, the database refuses any change or removal (core/freeze.py); a correction is a new
    # disclosure. Frozen with it: the fields it disclosed (the m2m rows) and its subjects' rows,
    # whose notification (when and how the subject was told) may still be recorded, once.
    FROZEN_ONCE_SET = "sent_at"
    FROZEN_WITH = {"fields": (), "disclosed_subjects": ("notified_at", "notification_channel")}

    class Ground(models.TextChoices):
        CONSENT = "1.4.3.1", _("1.4.3.1 — the user has consented")
        CONTRACT = "1.4.3.2", _("1.4.3.2 — needed for a service the user uses or a contract with the user")
        LAW = "1.4.3.3", _("1.4.3.3 — required by law through the established procedure")
        BUSINESS_TRANSFER = "1.4.3.4", _("1.4.3.4 — sale or transfer of the business")
        STATISTICS = "1.4.3.5", _("1.4.3.5 — depersonalised statistics")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted for approval")
        APPROVED = "approved", _("Approved")
        SENT = "sent", _("Sent")

    class Delivery(models.TextChoices):
        SECURE_EMAIL = "secure_email", _("Encrypted e-mail")
        SFTP = "sftp", _("SFTP")
        API = "api", _("API")
        PAPER = "paper", _("Paper, by courier")
        IN_PERSON = "in_person", _("Handed over in person")

    recipient = models.ForeignKey(Recipient, verbose_name=_("recipient"), on_delete=models.PROTECT,
                                  related_name="disclosures")
    ground = models.CharField(_("ground"), max_length=10, choices=Ground.choices)
    purpose = models.ForeignKey(Purpose, verbose_name=_("purpose"), on_delete=models.PROTECT,
                                related_name="disclosures")
    service = models.ForeignKey(Service, verbose_name=_("service (1.4.3.2)"), on_delete=models.PROTECT,
                                null=True, blank=True, related_name="disclosures")
    fields = models.ManyToManyField(PersonalDataField, verbose_name=_("fields disclosed"),
                                    related_name="disclosures")
    aggregate_only = models.BooleanField(_("aggregate data only (no subjects)"), default=False)
    legal_authority = models.CharField(_("authority"), max_length=300, blank=True)
    legal_document_number = models.CharField(_("document number"), max_length=100, blank=True)
    legal_document_date = models.DateField(_("document date"), null=True, blank=True)
    recipient_request = models.TextField(_("the recipient's request"), blank=True)
    delivery_method = models.CharField(_("delivery method"), max_length=20, choices=Delivery.choices)
    record_count = models.PositiveIntegerField(_("records sent"), null=True, blank=True)
    payload_sha256 = models.CharField(_("SHA-256 of what was sent"), max_length=64, blank=True,
                                      validators=[RegexValidator(r"^[0-9a-f]{64}$", _("64 hexadecimal digits."))])
    manifest = models.JSONField(_("what was sent (fields and subjects)"), default=dict, blank=True, editable=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    corrects = models.ForeignKey("self", verbose_name=_("corrects"), on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="corrections")
    created_by_id = models.IntegerField(_("created by (id)"), null=True, blank=True)
    created_by_username = models.CharField(_("created by"), max_length=150, blank=True)
    approved_by_id = models.IntegerField(_("approved by (id)"), null=True, blank=True)
    approved_by_username = models.CharField(_("approved by"), max_length=150, blank=True)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = DisclosureQuerySet.as_manager()
    history = audited_history(m2m_fields=[fields])

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("disclosure")
        verbose_name_plural = _("disclosures")
        permissions = [("approve_disclosure", _("Can approve a disclosure made by someone else"))]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False, approved_by_id__isnull=False),
                name="disclosure_sent_was_approved",
            ),
            models.CheckConstraint(
                condition=Q(approved_by_id__isnull=True) | ~Q(approved_by_id=models.F("created_by_id")),
                name="disclosure_four_eyes",
                violation_error_message=_("A disclosure is never approved by the person who created it."),
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="disclosure_status_idx")]

    def __str__(self) -> str:
        return f"№ {self.pk} · {self.recipient} · {self.ground}"

    @property
    def is_sent(self) -> bool:
        return self.sent_at is not None

    def check_ground(self, at: datetime | None = None) -> list["Finding"]:
        """The checklist for this disclosure's ground at ``at`` (now by default); every line says why."""
        at = at or timezone.now()
        fields = list(self.fields.all())
        field_ids = {field.pk for field in fields}
        subjects = {row.subject_id: row.subject for row in self.disclosed_subjects.select_related("subject")}
        # 1.4.2: data a subject made public by their own choice needs no ground; subjects whose
        # every disclosed field is public are left out of the per-subject checks.
        public: dict[int, set[int]] = {}
        for choice in PublicChoice.objects.filter(subject_id__in=subjects, made_public_on__lte=timezone.localdate(at)):
            public.setdefault(choice.subject_id, set()).add(choice.field_id)
        checked = [subject_id for subject_id in subjects if not field_ids <= public.get(subject_id, set())]
        public_for_all = set.intersection(*(public.get(s, set()) for s in subjects)) if subjects else set()

        findings = [Finding(self.ground, bool(fields), _("Fields disclosed: %(codes)s.") % {
            "codes": ", ".join(field.code for field in fields) or "—"})]
        if not self.recipient.active:
            findings.append(Finding(self.ground, False, _("The recipient is marked inactive.")))
        if self.ground != self.Ground.STATISTICS and not subjects and not self.aggregate_only:
            findings.append(Finding(self.ground, False, _("No subjects are named.")))
        check = {
            self.Ground.CONSENT: self._check_consent,
            self.Ground.CONTRACT: self._check_contract,
            self.Ground.LAW: self._check_law,
            self.Ground.BUSINESS_TRANSFER: self._check_business_transfer,
            self.Ground.STATISTICS: self._check_statistics,
        }[self.ground]
        findings += check(at=at, fields=fields, subjects=subjects, checked=checked, public_for_all=public_for_all)
        if self.recipient.is_abroad:
            findings += self._check_transfer(at=at, subjects=subjects, checked=checked)
        return findings

    def recorded_ground_check(self) -> list["Finding"]:
        """For a sent disclosure, the checklist as it stood when sent; otherwise the current one."""
        if self.is_sent and self.manifest.get("ground_check"):
            return [Finding(**finding) for finding in self.manifest["ground_check"]]
        return self.check_ground()

    def ground_holds(self, at: datetime | None = None) -> bool:
        return all(finding.passed for finding in self.check_ground(at))

    def _check_consent(self, *, at, subjects, checked, **_unused) -> list["Finding"]:
        kind = self.recipient.kind
        with_consent = consents_in_force(checked, self.purpose, kind, at)
        missing = [subjects[subject_id] for subject_id in checked if subject_id not in with_consent]
        findings = [
            Finding("1.4.3.1", False, _("%(subject)s had no consent in force to disclosure for %(clause)s "
                                        "to a %(kind)s at that time.")
                    % {"subject": subject.account_id, "clause": self.purpose.clause,
                       "kind": RecipientKind(kind).label.lower()})
            for subject in missing
        ]
        if subjects and not missing:
            findings.append(Finding("1.4.3.1", True, _("Every subject had a consent in force for %(clause)s "
                                                       "to this kind of recipient.") % {"clause": self.purpose.clause}))
        return findings

    def _check_transfer(self, *, at, subjects, checked) -> list["Finding"]:
        """Cross-border transfer (ZRU-547 art. 15 as amended by ZRU-1125): the recipient's mechanism, and
        for "the subject's consent" each subject's consent in force that allows the transfer."""
        recipient = self.recipient
        mechanism = recipient.transfer_mechanism
        if not mechanism:
            return [Finding(TRANSFER_CLAUSE, False, _("The recipient is in %(country)s and has no cross-border "
                                                      "transfer mechanism.") % {"country": recipient.country})]
        findings = [Finding(TRANSFER_CLAUSE, True, _("The recipient is in %(country)s; cross-border transfer "
                                                     "mechanism: %(mechanism)s.") % {
            "country": recipient.country, "mechanism": transfer_summary(recipient)})]
        if mechanism != TransferMechanism.SUBJECT_CONSENT:
            return findings
        allowing = consents_allowing_cross_border(checked, self.purpose, at)
        findings += [
            Finding(TRANSFER_CLAUSE, False, _("%(subject)s had no consent in force for %(clause)s that allows "
                                              "cross-border transfer at that time.")
                    % {"subject": subjects[subject_id].account_id, "clause": self.purpose.clause})
            for subject_id in checked if subject_id not in allowing
        ]
        if checked and allowing >= set(checked):
            findings.append(Finding(TRANSFER_CLAUSE, True, _("Every subject's consent allows cross-border "
                                                             "transfer.")))
        return findings

    def _check_contract(self, *, at, fields, subjects, checked, public_for_all) -> list["Finding"]:
        from shipex_privacy.subjects.models import ServiceUse

        findings = [Finding("1.4.3.2", self.recipient.contract_in_force(timezone.localdate(at)),
                            _("Contract %(contract)s in force on that day.") % {
                                "contract": self.recipient.contract_reference or "—"})]
        if self.service is None:
            return [*findings, Finding("1.4.3.2", False, _("The service the disclosure serves is not named."))]
        findings.append(Finding("1.4.3.2", self.recipient.services.filter(pk=self.service_id).exists(),
                                _("The recipient serves %(service)s under its contract.") % {"service": self.service}))
        needed = set(self.service.needed_fields.values_list("pk", flat=True))
        extra = [field.code for field in fields if field.pk not in needed and field.pk not in public_for_all]
        findings.append(Finding("1.4.3.2", not extra, _("Fields the service does not need: %(codes)s.")
                                % {"codes": ", ".join(extra)} if extra
                                else _("Only fields the service needs are disclosed.")))
        users = set(ServiceUse.objects.filter(subject_id__in=checked, service=self.service,
                                              started_on__lte=timezone.localdate(at))
                    .values_list("subject_id", flat=True))
        findings += [Finding("1.4.3.2", False, _("%(subject)s does not use %(service)s.")
                             % {"subject": subjects[subject_id].account_id, "service": self.service})
                     for subject_id in checked if subject_id not in users]
        return findings

    def _check_law(self, *, at, **_unused) -> list["Finding"]:
        complete = bool(self.legal_authority.strip() and self.legal_document_number.strip()
                        and self.legal_document_date)
        findings = [
            Finding("1.4.3.3", self.recipient.kind == RecipientKind.STATE_AUTHORITY,
                    _("The recipient is a state authority acting under the law.")),
            Finding("1.4.3.3", complete, _("Legal reference: %(authority)s, № %(number)s of %(date)s.") % {
                "authority": self.legal_authority or "—", "number": self.legal_document_number or "—",
                "date": f"{self.legal_document_date:%d.%m.%Y}" if self.legal_document_date else "—"}),
        ]
        if self.legal_document_date and self.legal_document_date > timezone.localdate(at):
            findings.append(Finding("1.4.3.3", False, _("The legal document is dated after the disclosure.")))
        return findings

    def _check_business_transfer(self, *, at, **_unused) -> list["Finding"]:
        accepted = self.recipient.obligations_accepted_on
        return [
            Finding("1.4.3.4", self.recipient.kind == RecipientKind.BUSINESS_ACQUIRER,
                    _("The recipient is the acquirer of the business.")),
            Finding("1.4.3.4", accepted is not None and accepted <= timezone.localdate(at),
                    _("The acquirer accepted the policy's obligations in writing before the disclosure (%(date)s).")
                    % {"date": f"{accepted:%d.%m.%Y}" if accepted else "—"}),
        ]

    def _check_statistics(self, *, fields, subjects, **_unused) -> list["Finding"]:
        identifying = [field.code for field in fields if field.identifies_alone]
        return [
            Finding("1.4.3.5", self.aggregate_only and not subjects, _("Aggregate data only, no subjects named.")),
            Finding("1.4.3.5", not identifying, _("Fields that identify a person on their own: %(codes)s.")
                    % {"codes": ", ".join(identifying)} if identifying
                    else _("No field identifies a person on its own.")),
        ]


@dataclass(frozen=True)
class Finding:
    """One line of a ground check: passed or not, with the clause and what it is about."""

    clause: str
    passed: bool
    message: str


class DisclosedSubjectQuerySet(models.QuerySet):
    def notifications_overdue(self, today: date | None = None):
        today = today or timezone.localdate()
        return self.filter(
            disclosure__sent_at__isnull=False, notify_by__lt=today, notified_at__isnull=True, exemption=""
        )


class DisclosedSubject(models.Model):
    """One subject in a disclosure, with the notification the law asks for (ZRU-547 art. 23)."""

    class Exemption(models.TextChoices):
        STATE_BODY = "state_body", _("A state body acting within its powers")
        STATISTICS = "statistics", _("Statistical or scientific use")
        PUBLIC_SOURCES = "public_sources", _("The data came from public sources")

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        EMAIL = "email", _("E-mail")
        APP = "app", _("ShipEx app notification")
        LETTER = "letter", _("Letter")

    disclosure = models.ForeignKey(Disclosure, verbose_name=_("disclosure"), on_delete=models.PROTECT,
                                   related_name="disclosed_subjects")
    subject = models.ForeignKey(DataSubject, verbose_name=_("data subject"), on_delete=models.PROTECT,
                                related_name="disclosures_received")
    notify_by = models.DateField(_("notify by"), null=True, blank=True)
    exemption = models.CharField(_("no notification needed because"), max_length=20, choices=Exemption.choices,
                                 blank=True)
    notified_at = models.DateTimeField(_("notified at"), null=True, blank=True)
    notification_channel = models.CharField(_("notified by"), max_length=10, choices=Channel.choices, blank=True)

    objects = DisclosedSubjectQuerySet.as_manager()
    history = audited_history()

    class Meta:
        ordering = ["disclosure", "id"]
        verbose_name = _("disclosed subject")
        verbose_name_plural = _("disclosed subjects")
        constraints = [
            models.UniqueConstraint(fields=["disclosure", "subject"], name="disclosed_subject_once"),
            models.CheckConstraint(
                condition=Q(notified_at__isnull=True) | ~Q(notification_channel=""),
                name="disclosed_subject_notification_has_channel",
            ),
        ]
        indexes = [models.Index(fields=["notify_by", "notified_at"], name="disclosed_subject_due_idx")]

    def __str__(self) -> str:
        return f"{self.subject} · {self.disclosure}"


def disclosure_export_storage():
    from django.core.files.storage import storages

    return storages["disclosure_exports"]


class DisclosureExport(models.Model):
    """The file the back office built and sent for a disclosure: CSV and JSON of exactly the approved
    fields of the approved subjects, zipped (``disclosures/export.py``).

    The file is the subjects' data: it lives in private storage, is downloaded only through the
    admin (each download is logged and checked against ``sha256``) and goes at the end of its
    catalogue retention rule. The disclosure itself, frozen when sent, keeps the SHA-256, the count
    and the manifest, so what left ShipEx stays proven after the file is gone.
    """

    PERSONAL_DATA_FIELDS = ("file",)
    NON_PERSONAL_FIELDS = ("id", "disclosure", "sha256", "size", "record_count", "built_at", "built_by_id",
                           "built_by_username")

    disclosure = models.OneToOneField(Disclosure, verbose_name=_("disclosure"), on_delete=models.PROTECT,
                                      related_name="export")
    file = models.FileField(_("file"), storage=disclosure_export_storage, upload_to="%Y/%m/", max_length=300,
                            blank=True, help_text=_("Empty once its retention rule has ended; the SHA-256, the count "
                                                    "and the manifest stay with the disclosure."))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    record_count = models.PositiveIntegerField(_("records included"), default=0)
    built_at = models.DateTimeField(_("built at"), default=timezone.now)
    built_by_id = models.IntegerField(_("built by (id)"), null=True, blank=True)
    built_by_username = models.CharField(_("built by"), max_length=150, blank=True)

    history = audited_history()

    class Meta:
        verbose_name = _("disclosure export")
        verbose_name_plural = _("disclosure exports")
        constraints = [
            models.CheckConstraint(condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="disclosure_export_sha256_hex"),
        ]

    def __str__(self) -> str:
        return f"№ {self.disclosure_id} · {self.sha256[:12]}"


def notify_by(sent_at: datetime) -> date:
    return timezone.localdate(sent_at) + timedelta(days=NOTIFY_WITHIN_DAYS)


def consents_in_force(subject_ids, purpose: Purpose, kind: str, at: datetime) -> set[int]:
    """Subjects among ``subject_ids`` with a disclosure consent in force at ``at`` (one query)."""
    return set(
        Consent.objects.filter(subject_id__in=subject_ids, purpose=purpose, recipient_kind=kind)
        .in_force_at(at).values_list("subject_id", flat=True)
    )


def consents_allowing_cross_border(subject_ids, purpose: Purpose, at: datetime) -> set[int]:
    """Subjects among ``subject_ids`` with a consent for ``purpose`` in force at ``at`` whose grant allowed
    cross-border transfer (one query). The grant in the ledger carries the flag (consents 1.3 document
    contents); this is the one place the ground check asks, should the flag move onto ``Consent``."""
    grant = ConsentEvent.objects.filter(consent=OuterRef("pk"), occurred_at__lte=at).order_by("-occurred_at", "-id")
    return set(
        Consent.objects.filter(subject_id__in=subject_ids, purpose=purpose).in_force_at(at)
        .annotate(cross_border_then=Subquery(grant.values("allows_cross_border_transfer")[:1]))
        .filter(cross_border_then=True).values_list("subject_id", flat=True)
    )
