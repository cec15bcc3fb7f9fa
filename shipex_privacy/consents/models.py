"""Privacy-policy versions and acceptances (1.1), consents (1.3.2.5, 1.4.3.1), cookies and
counters (1.6) and cookie consents.

Consents are a ledger: ``ConsentEvent`` rows (grant, withdraw, lapse) are never changed or deleted;
the database refuses it. ``Consent`` is the current state of one subject × purpose × recipient
kind, kept in step with the ledger by the services in the same transaction, so "who has an
active consent for 1.3.2.5 now" is an indexed query. The state at any past moment is read from
the ledger.
"""

import hashlib
from datetime import date, datetime, time, timedelta

from django.db import models
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from shipex_privacy.audit.history import audited_history
from shipex_privacy.catalogue.models import Purpose
from shipex_privacy.core.i18n import Shown, twin_fields
from shipex_privacy.subjects.models import DataSubject

# Where the contents a consent must carry come from. A seeded reference: staff see it with its
# marker, subjects never do (the receipt a subject gets does not name it).
CONSENT_CONTENTS_SOURCE = _(
    "Ministry of Justice model procedure on consent to the processing of personal data, registered "
    "15.11.2023 no. 3478 (to be confirmed by counsel)"
)


class Channel(models.TextChoices):
    APP = "app", _("ShipEx app")
    WEB = "web", _("Website")
    OFFICE = "office", _("Office")
    CALL_CENTRE = "call_centre", _("Call centre")
    # The channels a request may come by (rights_requests.SubjectRequest.Channel): a subject who
    # withdraws consent in an e-mail or a letter has it recorded as such.
    EMAIL = "email", _("E-mail")
    LETTER = "letter", _("Letter")


# Consent to special or biometric data must be written or electronic (procedure no. 3478): the app
# and the website are electronic, the office takes a signed form, and so is a signed letter; a call
# (oral) is neither, and nor is a plain e-mail, which carries no electronic signature.
WRITTEN_OR_ELECTRONIC_CHANNELS = frozenset({Channel.APP, Channel.WEB, Channel.OFFICE, Channel.LETTER})


def term_end(last_day: date) -> datetime:
    """The moment a consent whose term ends on ``last_day`` stops being in force: the next day's 00:00
    in Tashkent (the project's time zone). It lapses then — on the day after its term ends."""
    return timezone.make_aware(datetime.combine(last_day + timedelta(days=1), time.min))


def term_last_day(expires_at: datetime | None) -> date | None:
    """The last day in force of a term that ends at a local midnight (one set as a date), else None."""
    if expires_at is None:
        return None
    local = timezone.localtime(expires_at)
    return local.date() - timedelta(days=1) if local.time() == time.min else None


class PolicyVersionQuerySet(models.QuerySet):
    def published(self):
        return self.filter(published_at__isnull=False)

    def in_force(self, on=None):
        """The published version in force on a date (today by default), or None."""
        on = on or timezone.localdate()
        return self.published().filter(effective_date__lte=on).order_by("-effective_date", "-published_at").first()


class PolicyVersion(models.Model):
    """One version of the privacy policy as published, in every language (1.1)."""

    # Once published, the database refuses any change to the row (see core/freeze.py).
    FROZEN_ONCE_SET = "published_at"

    version = models.CharField(_("version"), max_length=20, unique=True, help_text=_("For example 2026.2"))
    effective_date = models.DateField(_("in force from"))
    text_uz = models.TextField(_("text (Uzbek)"))
    text_ru = models.TextField(_("text (Russian)"))
    text_en = models.TextField(_("text (English)"))
    content_hash = models.CharField(_("SHA-256 of the texts"), max_length=64, editable=False)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True, editable=False)

    objects = PolicyVersionQuerySet.as_manager()
    history = audited_history()

    class Meta:
        ordering = ["-effective_date", "-id"]
        verbose_name = _("privacy policy version")
        verbose_name_plural = _("privacy policy versions")

    def __str__(self) -> str:
        return f"{self.version} ({self.effective_date:%d.%m.%Y})"

    def save(self, *args, **kwargs):
        self.content_hash = self.compute_hash()
        super().save(*args, **kwargs)

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    def text(self, language: str) -> str:
        return getattr(self, f"text_{language}", "") or self.text_uz

    def compute_hash(self) -> str:
        canonical = "\x1e".join((self.version, str(self.effective_date), self.text_uz, self.text_ru, self.text_en))
        return hashlib.sha256(canonical.encode()).hexdigest()


class PolicyAcceptance(models.Model):
    """A subject accepted a policy version: when, through which channel, with what evidence (1.1)."""

    # Evidence of the acceptance is personal data (1.2.1.2); which version was accepted is the record itself.
    PERSONAL_DATA_FIELDS = ("ip_address", "user_agent")
    NON_PERSONAL_FIELDS = ("id", "subject", "version", "accepted_at", "channel")

    subject = models.ForeignKey(
        DataSubject, verbose_name=_("data subject"), on_delete=models.PROTECT, related_name="policy_acceptances"
    )
    version = models.ForeignKey(
        PolicyVersion, verbose_name=_("policy version"), on_delete=models.PROTECT, related_name="acceptances"
    )
    accepted_at = models.DateTimeField(_("accepted at"))
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=400, blank=True)

    history = audited_history()

    class Meta:
        ordering = ["-accepted_at", "-id"]
        verbose_name = _("policy acceptance")
        verbose_name_plural = _("policy acceptances")
        constraints = [
            models.UniqueConstraint(fields=["subject", "version"], name="acceptance_once_per_version"),
        ]
        indexes = [models.Index(fields=["version", "subject"], name="acceptance_version_subject_idx")]

    def __str__(self) -> str:
        return f"{self.subject} · {self.version}"


class SubjectWithoutCurrentPolicy(DataSubject):
    """Subjects seen through one question: who has not accepted the policy version in force?"""

    class Meta:
        proxy = True
        verbose_name = _("subject without the current policy")
        verbose_name_plural = _("subjects without the current policy")


class RecipientKind(models.TextChoices):
    """Kinds of third party a disclosure consent (1.4.3.1) may name."""

    PROCESSOR = "processor", _("Processor under contract")
    STATE_AUTHORITY = "state_authority", _("State authority")
    BUSINESS_ACQUIRER = "business_acquirer", _("Business acquirer")
    RESEARCH_PARTNER = "research_partner", _("Research partner")
    OTHER_CONTROLLER = "other_controller", _("Other controller")


class ConsentQuerySet(models.QuerySet):
    def in_force(self, at: datetime | None = None):
        """Consents granted and neither withdrawn nor past their term now (the current state)."""
        at = at or timezone.now()
        return self.filter(state=Consent.State.GRANTED).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at))

    def in_force_at(self, at: datetime):
        """Consents in force at a past moment, read from the ledger (latest event at or before ``at``)."""
        latest = ConsentEvent.objects.filter(consent=OuterRef("pk"), occurred_at__lte=at).order_by(
            "-occurred_at", "-id"
        )
        return (
            self.annotate(
                kind_then=Subquery(latest.values("kind")[:1]),
                expires_then=Subquery(latest.values("expires_at")[:1]),
            )
            .filter(kind_then=ConsentEvent.Kind.GRANT)
            .filter(Q(expires_then__isnull=True) | Q(expires_then__gt=at))
        )


class Consent(models.Model):
    """The current state of one subject's consent to one purpose (and recipient kind, for 1.4.3.1)."""

    class State(models.TextChoices):
        GRANTED = "granted", _("Granted")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        LAPSED = "lapsed", _("Lapsed (its term ended)")

    subject = models.ForeignKey(
        DataSubject, verbose_name=_("data subject"), on_delete=models.PROTECT, related_name="consents"
    )
    purpose = models.ForeignKey(Purpose, verbose_name=_("purpose"), on_delete=models.PROTECT, related_name="consents")
    recipient_kind = models.CharField(
        _("recipient kind"), max_length=30, choices=RecipientKind.choices, blank=True,
        help_text=_("Only for consent to disclosure to third parties (1.4.3.1)."),
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    granted_at = models.DateTimeField(_("granted at"))
    expires_at = models.DateTimeField(_("in force until"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    objects = ConsentQuerySet.as_manager()
    history = audited_history()

    class Meta:
        ordering = ["-granted_at", "-id"]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "purpose", "recipient_kind"], name="consent_one_state_per_scope"
            ),
            models.CheckConstraint(
                condition=Q(state="granted", withdrawn_at__isnull=True)
                | Q(state="withdrawn", withdrawn_at__isnull=False)
                | Q(state="lapsed", withdrawn_at__isnull=True, expires_at__isnull=False),
                name="consent_state_has_its_date",
            ),
        ]
        indexes = [models.Index(fields=["purpose", "state", "expires_at"], name="consent_purpose_state_idx")]

    def __str__(self) -> str:
        return f"{self.purpose.clause} · {self.subject}"

    @property
    def term_last_day(self) -> date | None:
        """The term's last day in force when it was set as a date (see ``term_end``)."""
        return term_last_day(self.expires_at)

    def is_in_force(self, at: datetime | None = None) -> bool:
        at = at or timezone.now()
        return (
            self.state == self.State.GRANTED
            and self.granted_at <= at
            and (self.expires_at is None or self.expires_at > at)
        )


class ConsentEvent(models.Model):
    """One grant or withdrawal, as it happened: the consent ledger. Never changed, never deleted."""

    APPEND_ONLY = True
    # The evidence and the name on the document are personal data; the decision is the record itself.
    PERSONAL_DATA_FIELDS = ("ip_address", "user_agent", "subject_name")
    NON_PERSONAL_FIELDS = (
        "id", "consent", "kind", "occurred_at", "recorded_at", "channel", "evidence_reference", "policy_version",
        "expires_at", "operator_name", "operator_tin", "covered_data", "allows_third_party_transfer",
        "allows_cross_border_transfer", "allows_publication", "recorded_by_id", "recorded_by_username", "note",
    )

    class Kind(models.TextChoices):
        GRANT = "grant", _("Granted")
        WITHDRAW = "withdraw", _("Withdrawn")
        LAPSE = "lapse", _("Lapsed (its term ended)")

    consent = models.ForeignKey(Consent, verbose_name=_("consent"), on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(_("event"), max_length=10, choices=Kind.choices)
    occurred_at = models.DateTimeField(_("when the subject did it"))
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    # Empty only for a lapse: nobody did anything, through no channel, the term just ended.
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=400, blank=True)
    evidence_reference = models.CharField(
        _("evidence"), max_length=200, blank=True, help_text=_("Signed form number, call recording id, app event id.")
    )
    # For grants: what the consent document covered, as Uzbek practice requires.
    policy_version = models.ForeignKey(
        PolicyVersion, verbose_name=_("policy version"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="consent_events",
    )
    expires_at = models.DateTimeField(_("in force until"), null=True, blank=True)
    operator_name = models.CharField(_("operator"), max_length=200, blank=True)
    operator_tin = models.CharField(_("operator's TIN"), max_length=9, blank=True)
    subject_name = models.CharField(_("subject's name on the document"), max_length=200, blank=True)
    covered_data = models.JSONField(_("data covered (catalogue codes)"), default=list, blank=True)
    allows_third_party_transfer = models.BooleanField(_("allows transfer to third parties"), default=False)
    allows_cross_border_transfer = models.BooleanField(_("allows cross-border transfer"), default=False)
    allows_publication = models.BooleanField(_("allows publication"), default=False)
    # Who recorded it: id and username, never a cascading key.
    recorded_by_id = models.IntegerField(_("recorded by (id)"), null=True, blank=True)
    recorded_by_username = models.CharField(_("recorded by"), max_length=150, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("consent event")
        verbose_name_plural = _("consent events")
        indexes = [
            # A consent's ledger in ledger order, with what the state at a moment needs: in_force_at's
            # latest-event lookups and the consent report's one pass over every ledger read only this index.
            models.Index(fields=["consent", "occurred_at", "id", "kind", "expires_at"],
                         name="consent_event_ledger_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="grant") | Q(policy_version__isnull=False),
                name="consent_grant_names_policy_version",
            ),
            models.CheckConstraint(
                condition=Q(kind="lapse", channel="") | (~Q(kind="lapse") & ~Q(channel="")),
                name="consent_event_channel_unless_lapse",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True) | Q(expires_at__gt=models.F("occurred_at")),
                name="consent_term_ends_after_grant",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.consent} · {timezone.localtime(self.occurred_at):%d.%m.%Y}"

    @property
    def term_last_day(self) -> date | None:
        """The term's last day in force when it was set as a date (see ``term_end``)."""
        return term_last_day(self.expires_at)


class TranslatedDescription(models.Model):
    """A description kept in each interface language; ``description`` answers in the active one."""

    description_uz = models.TextField(_("description (Uzbek)"))
    description_ru = models.TextField(_("description (Russian)"))
    description_en = models.TextField(_("description (English)"))

    class Meta:
        abstract = True

    @property
    def description(self) -> str:
        language = (get_language() or "uz")[:2]
        return getattr(self, f"description_{language}", "") or self.description_uz


class CookieCategory(models.TextChoices):
    STRICTLY_NECESSARY = "strictly_necessary", _("Strictly necessary")
    FUNCTIONAL = "functional", _("Functional")
    ANALYTICS = "analytics", _("Analytics")
    ADVERTISING = "advertising", _("Advertising")


class Cookie(TranslatedDescription):
    """A cookie ShipEx's sites and apps set or let others set (1.6.1–1.6.3)."""

    class Party(models.TextChoices):
        FIRST = "first", _("First party")
        THIRD = "third", _("Third party")

    name = models.CharField(_("name"), max_length=100)
    domain = models.CharField(_("domain"), max_length=200)
    provider = models.CharField(_("provider"), max_length=200)
    party = models.CharField(_("party"), max_length=10, choices=Party.choices)
    category = models.CharField(_("category"), max_length=20, choices=CookieCategory.choices)
    purposes = models.ManyToManyField(Purpose, verbose_name=_("purposes"), related_name="cookies")
    duration_days = models.PositiveIntegerField(
        _("lifetime in days"), null=True, blank=True, help_text=_("Empty for a session cookie.")
    )
    required_by = models.CharField(
        _("services that need it (1.6.3)"), max_length=300, blank=True,
        help_text=_("The services that cannot work without this cookie; empty if none."),
    )
    required_by_uz, required_by_ru = twin_fields(
        models.CharField, _("services that need it (Uzbek)"), _("services that need it (Russian)"), max_length=300)

    history = audited_history(m2m_fields=[purposes])
    shown = Shown()

    class Meta:
        ordering = ["category", "name"]
        verbose_name = _("cookie")
        verbose_name_plural = _("cookies")
        constraints = [models.UniqueConstraint(fields=["name", "domain"], name="cookie_unique_name_domain")]

    def __str__(self) -> str:
        return f"{self.name} ({self.domain})"


class Counter(TranslatedDescription):
    """A counter (analytics tag) placed in ShipEx services, with its technical parameters (1.6.4).

    ShipEx may change the parameters without notice, so every change is kept in history with a reason.
    """

    name = models.CharField(_("name"), max_length=100, help_text=_("For example Yandex Metrica."))
    provider = models.CharField(_("provider"), max_length=200)
    counter_id = models.CharField(_("counter id"), max_length=100)
    placement = models.CharField(_("where it is placed"), max_length=300)
    processing_country = models.CharField(_("country where data is processed"), max_length=2, default="UZ")
    # Technical parameters, one field each so that history shows exactly which one changed.
    collects_ip_address = models.BooleanField(_("collects the IP address"), default=True)
    anonymises_ip = models.BooleanField(_("anonymises the IP address"), default=False)
    session_replay = models.BooleanField(_("records sessions (replay)"), default=False)
    tracks_clicks = models.BooleanField(_("tracks clicks and scrolling"), default=False)
    ecommerce_tracking = models.BooleanField(_("tracks purchases (e-commerce)"), default=False)
    user_id_tracking = models.BooleanField(_("links visits to the ShipEx account"), default=False)
    cross_domain = models.BooleanField(_("follows visitors across domains"), default=False)
    data_retention_months = models.PositiveIntegerField(_("provider keeps data (months)"), default=13)
    purposes = models.ManyToManyField(Purpose, verbose_name=_("purposes"), related_name="counters")
    cookies = models.ManyToManyField(Cookie, verbose_name=_("cookies it sets"), related_name="counters", blank=True)
    active = models.BooleanField(_("active"), default=True)
    placement_uz, placement_ru = twin_fields(
        models.CharField, _("where it is placed (Uzbek)"), _("where it is placed (Russian)"), max_length=300)

    history = audited_history(m2m_fields=[purposes, cookies])
    shown = Shown()

    class Meta:
        ordering = ["name"]
        verbose_name = _("counter")
        verbose_name_plural = _("counters")
        constraints = [models.UniqueConstraint(fields=["provider", "counter_id"], name="counter_unique_id")]

    def __str__(self) -> str:
        return f"{self.name} {self.counter_id}"


class CookieConsentEvent(models.Model):
    """A visitor's or subject's choice about one cookie category (1.6.2): a ledger like consents."""

    APPEND_ONLY = True
    PERSONAL_DATA_FIELDS = ("visitor_id", "ip_address", "user_agent")
    NON_PERSONAL_FIELDS = ("id", "subject", "category", "kind", "occurred_at", "recorded_at", "channel")

    class Kind(models.TextChoices):
        GRANT = "grant", _("Allowed")
        WITHDRAW = "withdraw", _("Refused or withdrawn")

    subject = models.ForeignKey(
        DataSubject, verbose_name=_("data subject"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="cookie_consent_events",
    )
    visitor_id = models.CharField(
        _("visitor cookie id"), max_length=64, blank=True, help_text=_("For a visitor without an account.")
    )
    category = models.CharField(_("category"), max_length=20, choices=CookieCategory.choices)
    kind = models.CharField(_("choice"), max_length=10, choices=Kind.choices)
    occurred_at = models.DateTimeField(_("when the choice was made"))
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=400, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("cookie consent event")
        verbose_name_plural = _("cookie consent events")
        indexes = [
            models.Index(fields=["subject", "category", "occurred_at"], name="cookie_consent_subject_idx"),
            models.Index(fields=["visitor_id", "category", "occurred_at"], name="cookie_consent_visitor_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(subject__isnull=False) | ~Q(visitor_id=""), name="cookie_consent_names_someone"
            ),
            models.CheckConstraint(
                condition=~Q(category="strictly_necessary"), name="cookie_consent_not_for_necessary",
                violation_error_message=_("Strictly necessary cookies need no consent."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.get_category_display()}"


class ConsentFigure(models.Model):
    """The consent report's figure for one purpose and one closed local day: by how many the consents
    to ShipEx itself (no recipient kind) in force changed that day (consents/figures.py).

    Derived from the ledger and checked against it (``figures.figures_drift``, verify_audit), so it
    has no history of its own: it is rebuilt from the ledger, never edited by staff.
    """

    purpose = models.ForeignKey(Purpose, verbose_name=_("purpose"), on_delete=models.PROTECT, related_name="+")
    day = models.DateField(_("day"))
    change = models.IntegerField(_("change in consents in force"))

    class Meta:
        verbose_name = _("consent figure")
        verbose_name_plural = _("consent figures")
        constraints = [models.UniqueConstraint(fields=["purpose", "day"], name="consent_figure_one_per_day")]

    def __str__(self) -> str:
        return f"{self.purpose_id} · {self.day:%d.%m.%Y} · {self.change:+d}"


class ConsentFigureChange(models.Model):
    """A change to the consent report's figures not folded into ``ConsentFigure`` yet: +n at the moment
    a grant's interval starts, −n where it ends (consents/figures.py). Written with the ledger row
    that causes it, in its transaction; folded into the day's figure once the day has passed."""

    purpose = models.ForeignKey(Purpose, verbose_name=_("purpose"), on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"))
    day = models.DateField(_("local day"))
    change = models.IntegerField(_("change in consents in force"))

    class Meta:
        verbose_name = _("consent figure change")
        verbose_name_plural = _("consent figure changes")
        indexes = [models.Index(fields=["at", "purpose", "change"], name="consent_figure_change_at_idx")]

    def __str__(self) -> str:
        return f"{self.purpose_id} · {self.at:%d.%m.%Y %H:%M} · {self.change:+d}"
