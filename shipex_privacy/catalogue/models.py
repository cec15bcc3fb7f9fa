"""The data catalogue: which personal data ShipEx holds, why, for how long and where (1.2–1.4.1)."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Exists, OuterRef, ProtectedError, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from shipex_privacy.audit.history import audited_history
from shipex_privacy.core.i18n import Shown, in_language, twin_fields
from shipex_privacy.core.models import TranslatedName

COUNTRY_CODE = RegexValidator(r"^[A-Z]{2}$", _("Use the two-letter ISO country code, e.g. UZ."))


HOME_COUNTRY = "UZ"


class TransferMechanism(models.TextChoices):
    """How personal data may lawfully leave Uzbekistan (ZRU-547 art. 15 as amended by ZRU-1125 of 26.03.2026;
    read from law firms' public summaries, to be confirmed by counsel: docs/cross-border.md)."""

    ADEQUATE_COUNTRY = "adequate_country", _("The country ensures adequate protection")
    STANDARD_CLAUSES = "standard_clauses", _("Approved standard contractual clauses")
    CORPORATE_RULES = "corporate_rules", _("Approved binding corporate rules")
    INTERNATIONAL_STANDARD = "international_standard", _("Approved international standard")
    SUBJECT_CONSENT = "subject_consent", _("The subject's consent to the cross-border transfer")


class TransferAbroad(models.Model):
    """Where something outside Uzbekistan gets personal data, on which mechanism (reference and date).

    A system (catalogue) and a recipient (disclosures) share these fields; each holds the database
    rule "abroad ⇒ mechanism set" in its own named constraint (``abroad_needs_mechanism``).
    """

    country: str  # each concrete model has its own country field and label

    transfer_mechanism = models.CharField(
        _("cross-border transfer mechanism"), max_length=30, choices=TransferMechanism.choices, blank=True,
        help_text=_("Required when it is outside Uzbekistan (ZRU-547 art. 15)."),
    )
    transfer_reference = models.CharField(
        _("reference of the transfer mechanism"), max_length=300, blank=True,
        help_text=_("The agreement, decision, certificate or consent text the mechanism rests on."),
    )
    transfer_date = models.DateField(_("date of the transfer mechanism"), null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_abroad(self) -> bool:
        return self.country != HOME_COUNTRY

    def clean_transfer(self) -> None:
        """Abroad: the mechanism, its reference and its date; at home none is asked for."""
        if not self.is_abroad:
            return
        errors = {}
        if not self.transfer_mechanism:
            errors["transfer_mechanism"] = _("Outside Uzbekistan a cross-border transfer mechanism is required.")
        if not self.transfer_reference.strip():
            errors["transfer_reference"] = _("Name the agreement, decision or document the mechanism rests on.")
        if self.transfer_date is None:
            errors["transfer_date"] = _("Give the date of that document.")
        if errors:
            raise ValidationError(errors)


def abroad_needs_mechanism(name: str, message) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(country=HOME_COUNTRY) | ~Q(transfer_mechanism=""), name=name, violation_error_message=message,
    )


def transfer_summary(obj) -> str:
    """"Mechanism — reference, date" for something abroad (current or historical row); "" at home."""
    if getattr(obj, "country", HOME_COUNTRY) == HOME_COUNTRY:
        return ""
    mechanism = getattr(obj, "transfer_mechanism", "")
    if not mechanism:
        return str(_("no transfer mechanism"))
    parts = [str(TransferMechanism(mechanism).label)]
    # Systems keep the seeded reference in uz/ru too; a recipient's is quoted as the officer typed it.
    if reference := in_language(obj, "transfer_reference"):
        parts.append(reference)
    if day := getattr(obj, "transfer_date", None):
        parts.append(f"{day:%d.%m.%Y}")
    return " — ".join(parts)


class SystemQuerySet(models.QuerySet):
    def with_registration_required(self) -> "SystemQuerySet":
        """Annotate ``needs_registration``: the system holds data that must stay in Uzbekistan."""
        return self.annotate(needs_registration=Exists(
            PersonalDataField.objects.must_stay_in_uzbekistan().filter(system=OuterRef("pk"))
        ))

    def registration_required(self) -> "SystemQuerySet":
        """Databases the state register of personal-data databases takes (art. 20, as of 2026)."""
        return self.with_registration_required().filter(needs_registration=True)

    def registration_missing(self) -> "SystemQuerySet":
        """Registration required, but no register number recorded yet (a home-page item)."""
        return self.registration_required().filter(registration_number="")


class System(TransferAbroad):
    """A ShipEx system that holds personal data (1.4.1); its owner answers for requests about it."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    owner = models.CharField(_("owner"), max_length=200, help_text=_("Team or person who answers for this system."))
    owner_email = models.EmailField(_("owner's e-mail"), blank=True)
    country = models.CharField(
        _("country of storage"), max_length=2, default=HOME_COUNTRY, validators=[COUNTRY_CODE]
    )
    description = models.TextField(_("description"), blank=True)
    registration_number = models.CharField(
        _("state register number"), max_length=50, blank=True,
        help_text=_("Number under which the database is entered in the state register of personal-data "
                    "databases (art. 20)."),
    )
    registered_on = models.DateField(_("registered on"), null=True, blank=True)
    name_uz, name_ru = twin_fields(models.CharField, _("name (Uzbek)"), _("name (Russian)"), max_length=200)
    owner_uz, owner_ru = twin_fields(models.CharField, _("owner (Uzbek)"), _("owner (Russian)"), max_length=200)
    description_uz, description_ru = twin_fields(models.TextField, _("description (Uzbek)"), _("description (Russian)"))
    transfer_reference_uz, transfer_reference_ru = twin_fields(
        models.CharField, _("reference of the transfer mechanism (Uzbek)"),
        _("reference of the transfer mechanism (Russian)"), max_length=300)

    objects = SystemQuerySet.as_manager()
    history = audited_history()
    shown = Shown()

    class Meta:
        ordering = ["name"]
        verbose_name = _("system")
        verbose_name_plural = _("systems")
        constraints = [
            abroad_needs_mechanism(
                "system_abroad_needs_mechanism",
                _("A system outside Uzbekistan needs a cross-border transfer mechanism."),
            ),
            models.CheckConstraint(
                condition=Q(registration_number="", registered_on__isnull=True)
                | (~Q(registration_number="") & Q(registered_on__isnull=False)),
                name="system_registration_number_with_date",
                violation_error_message=_("A state register number goes with the date of registration, and "
                                          "the date with the number."),
            ),
        ]

    def __str__(self) -> str:
        return self.shown.name

    def clean(self) -> None:
        self.clean_transfer()
        if self.pk and self.is_abroad:
            codes = list(PersonalDataField.objects.must_stay_in_uzbekistan().filter(system=self)
                         .values_list("code", flat=True))
            if codes:
                raise ValidationError({"country": _(
                    "This system holds data that must stay in Uzbekistan (ZRU-547 art. 27-1): %(codes)s. Move "
                    "those entries to a system in Uzbekistan first.") % {"codes": ", ".join(codes)}})

    @property
    def registration_required(self) -> bool:
        """Derived from the catalogue: the system holds an entry that must stay in Uzbekistan."""
        if hasattr(self, "needs_registration"):  # annotated by the queryset
            return self.needs_registration
        if self.pk is None:
            return False
        return PersonalDataField.objects.must_stay_in_uzbekistan().filter(system=self).exists()


class Purpose(TranslatedName):
    """A purpose of processing from clause 1.3.2, with its legal basis."""

    class LegalBasis(models.TextChoices):
        CONSENT = "consent", _("Consent of the data subject")
        CONTRACT = "contract", _("Providing the Service or performing a contract with the user")
        POLICY_ACCEPTANCE = "policy_acceptance", _("Acceptance of the privacy policy (1.1)")
        LEGAL_OBLIGATION = "legal_obligation", _("Obligation under the law of Uzbekistan")
        DEPERSONALISED = "depersonalised", _("Depersonalised data only")

    clause = models.CharField(
        _("clause"),
        max_length=20,
        unique=True,
        validators=[RegexValidator(r"^[0-9]+(\.[0-9]+)+$", _("A clause number such as 1.3.2.5."))],
    )
    legal_basis = models.CharField(_("legal basis"), max_length=30, choices=LegalBasis.choices)
    requires_consent = models.BooleanField(_("needs consent"), default=False)
    depersonalised_only = models.BooleanField(
        _("depersonalised data only"),
        default=False,
        help_text=_("Only data from which the user cannot be identified may serve this purpose (1.3.2.6)."),
    )

    history = audited_history()

    class Meta:
        ordering = ["clause"]
        verbose_name = _("purpose")
        verbose_name_plural = _("purposes")
        constraints = [
            models.CheckConstraint(
                condition=~Q(legal_basis="consent") | Q(requires_consent=True),
                name="purpose_consent_basis_needs_consent",
                violation_error_message=_("A purpose based on consent needs consent."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.clause} — {self.name}"

    def deletion_blockers(self) -> list[str]:
        codes = list(self.fields.values_list("code", flat=True))
        if not codes:
            return []
        return [_("Purpose %(clause)s is served by catalogue entries: %(codes)s.") % {
            "clause": self.clause, "codes": ", ".join(codes)}]

    def delete(self, *args, **kwargs):
        if blockers := self.deletion_blockers():
            raise ProtectedError(" ".join(blockers), {self})
        return super().delete(*args, **kwargs)


class RetentionRule(TranslatedName):
    """How long data is kept, from when, and what happens at the end (1.3.1)."""

    class Unit(models.TextChoices):
        DAYS = "days", _("days")
        MONTHS = "months", _("months")
        YEARS = "years", _("years")

    class ClockStart(models.TextChoices):
        COLLECTED = "collected", _("when the data is collected")
        LAST_ACTIVITY = "last_activity", _("after the subject's last activity")
        ACCOUNT_CLOSED = "account_closed", _("when the account is closed")
        SHIPMENT_DELIVERED = "shipment_delivered", _("when the shipment is delivered")
        CONSENT_WITHDRAWN = "consent_withdrawn", _("when consent is withdrawn")

    class EndAction(models.TextChoices):
        DELETE = "delete", _("delete")
        ANONYMISE = "anonymise", _("anonymise")

    code = models.SlugField(_("code"), max_length=50, unique=True)
    period = models.PositiveIntegerField(_("period"))
    unit = models.CharField(_("unit"), max_length=10, choices=Unit.choices, default=Unit.YEARS)
    clock_starts = models.CharField(_("the clock starts"), max_length=30, choices=ClockStart.choices)
    end_action = models.CharField(_("at the end"), max_length=10, choices=EndAction.choices)
    is_statutory = models.BooleanField(
        _("mandatory retention (1.3.1)"),
        default=False,
        help_text=_("The law requires keeping the data for this period; it overrides deletion requests."),
    )
    legal_reference = models.CharField(
        _("legal reference"),
        max_length=300,
        blank=True,
        help_text=_("The law and article that require mandatory retention."),
    )
    legal_reference_uz, legal_reference_ru = twin_fields(
        models.CharField, _("legal reference (Uzbek)"), _("legal reference (Russian)"), max_length=300)
    note = models.CharField(
        _("internal note"), max_length=300, blank=True,
        help_text=_("For staff only (for example what counsel still has to confirm); subjects never see it."),
    )

    history = audited_history()
    shown = Shown()

    class Meta:
        ordering = ["code"]
        verbose_name = _("retention rule")
        verbose_name_plural = _("retention rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(period__gt=0), name="retention_period_positive",
                violation_error_message=_("The retention period must be longer than zero."),
            ),
            models.CheckConstraint(
                condition=Q(is_statutory=False) | ~Q(legal_reference=""),
                name="retention_statutory_needs_reference",
                violation_error_message=_("Mandatory retention needs the legal reference that requires it."),
            ),
        ]

    @property
    def period_display(self) -> str:
        forms = {
            self.Unit.DAYS: ngettext_lazy("%(count)d day", "%(count)d days", "count"),
            self.Unit.MONTHS: ngettext_lazy("%(count)d month", "%(count)d months", "count"),
            self.Unit.YEARS: ngettext_lazy("%(count)d year", "%(count)d years", "count"),
        }
        return forms[self.unit] % {"count": self.period}


# Art. 27-1 of ZRU-547 as rewritten in 2026 (law firms' summaries, to be confirmed by counsel): only
# these categories must be held in Uzbekistan. Telecom-subscriber data is the third category; ShipEx
# is no telecom operator and the catalogue has no such entry (docs/cross-border.md).
MUST_STAY_IN_UZBEKISTAN = ("biometric", "genetic")


class PersonalDataFieldQuerySet(models.QuerySet):
    def must_stay_in_uzbekistan(self) -> "PersonalDataFieldQuerySet":
        return self.filter(sensitivity__in=MUST_STAY_IN_UZBEKISTAN)

    def held_abroad(self) -> "PersonalDataFieldQuerySet":
        """Entries stored outside Uzbekistan, by their own country or their system's."""
        return self.filter(~Q(storage_country=HOME_COUNTRY) | ~Q(system__country=HOME_COUNTRY))

    def bound_to(self, model: type[models.Model]) -> dict[str, "PersonalDataField"]:
        """The entries bound to fields of ``model``, keyed by field name (read once in ``catalogue_read_once``)."""
        prefix = f"{model._meta.app_label}.{model._meta.object_name}."
        memo = _bound_memo.get()
        key = (self.db, prefix)
        if memo is not None and not self.query.has_filters() and key in memo:
            return dict(memo[key])
        entries = self.filter(binding__startswith=prefix).prefetch_related("purposes")
        found = {entry.binding.removeprefix(prefix): entry for entry in entries}
        if memo is not None and not self.query.has_filters():
            memo[key] = dict(found)
        return found


_bound_memo: ContextVar[dict | None] = ContextVar("catalogue_bound_memo", default=None)


@contextmanager
def catalogue_read_once() -> Iterator[None]:
    """Within the block, ``PersonalDataField.objects.bound_to(model)`` reads the catalogue once per model.

    For a batch that validates many records against the one catalogue (the bulk audited path's
    ``validating_many`` hook): the block must not span a change of the catalogue. Nested blocks
    share the outermost one's reads.
    """
    if _bound_memo.get() is not None:
        yield
        return
    token = _bound_memo.set({})
    try:
        yield
    finally:
        _bound_memo.reset(token)


def field_of_binding(binding: str) -> models.Field:
    """The model field a binding (``app_label.Model.field``) names; LookupError when it names none."""
    app_label, model_name, field_name = [*binding.split("."), "", ""][:3]
    try:
        return apps.get_model(app_label, model_name)._meta.get_field(field_name)
    except (LookupError, ValueError, FieldDoesNotExist) as exc:
        raise LookupError(binding) from exc


class PersonalDataField(TranslatedName):
    """One kind of personal data ShipEx holds: the spine of the catalogue."""

    class Category(models.TextChoices):
        IDENTITY = "identity", _("Identity")
        CONTACT = "contact", _("Contact details")
        ADDRESS = "address", _("Addresses")
        DOCUMENT = "document", _("Identity documents")
        ACCOUNT = "account", _("Account")
        SHIPMENT = "shipment", _("Shipments")
        PAYMENT = "payment", _("Payments")
        TECHNICAL = "technical", _("Technical data")

    class Requirement(models.TextChoices):
        MANDATORY = "mandatory", _("Mandatory (1.2.1.1)")
        OPTIONAL = "optional", _("Optional, at the user's discretion (1.2.1.1)")

    class CollectionMethod(models.TextChoices):
        PROVIDED = "1.2.1.1", _("1.2.1.1 — provided by the user")
        AUTOMATIC = "1.2.1.2", _("1.2.1.2 — collected automatically")
        TERMS_OF_USE = "1.2.1.3", _("1.2.1.3 — provided for by the terms of use")

    class Sensitivity(models.TextChoices):
        GENERAL = "general", _("General")
        SPECIAL = "special", _("Special")
        BIOMETRIC = "biometric", _("Biometric")
        GENETIC = "genetic", _("Genetic")

    class Masking(models.TextChoices):
        """How staff who only read a record see a bound value (clause 1.7.1); the functions are in core.masking."""

        NONE = "", _("Shown in full")
        PHONE = "phone", _("Phone: +998 90 *** ** 67")
        EMAIL = "email", _("E-mail: a***@mail.uz")
        PINFL = "pinfl", _("PINFL: 3***********23")
        PASSPORT = "passport", _("Passport: AA*****67")
        TEXT = "text", _("Text: first letter only, N***")
        CONTACT = "contact", _("A contact as typed: masked as an e-mail, a phone or text")

    code = models.CharField(
        _("code"),
        max_length=80,
        unique=True,
        validators=[RegexValidator(r"^[a-z]+(\.[a-z_]+)+$", _("A dotted code such as contact.phone."))],
        help_text=_("Stable code used by other systems and reports, e.g. contact.phone."),
    )
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    description = models.TextField(_("what and why"), blank=True)
    requirement = models.CharField(_("requirement"), max_length=10, choices=Requirement.choices)
    collection_method = models.CharField(
        _("how it is collected"), max_length=10, choices=CollectionMethod.choices
    )
    sensitivity = models.CharField(
        _("sensitivity"), max_length=10, choices=Sensitivity.choices, default=Sensitivity.GENERAL
    )
    identifies_alone = models.BooleanField(
        _("identifies a person on its own"),
        default=False,
        help_text=_("True for data such as a phone number or PINFL; never disclosed as statistics (1.4.3.5)."),
    )
    purposes = models.ManyToManyField(Purpose, verbose_name=_("purposes"), related_name="fields", blank=True)
    retention_rule = models.ForeignKey(
        RetentionRule, verbose_name=_("retention rule"), on_delete=models.PROTECT, related_name="fields"
    )
    system = models.ForeignKey(
        System, verbose_name=_("held in system"), on_delete=models.PROTECT, related_name="fields"
    )
    storage_country = models.CharField(
        _("country of storage"), max_length=2, default="UZ", validators=[COUNTRY_CODE]
    )
    binding = models.CharField(
        _("bound to field"),
        max_length=100,
        blank=True,
        help_text=_(
            "A field of this back office that holds this data, as app.Model.field "
            "(e.g. subjects.DataSubject.phone). Leave empty for data held only in other systems."
        ),
    )

    masking = models.CharField(
        _("masked as"), max_length=10, choices=Masking.choices, blank=True,
        help_text=_("How staff who only read the bound field see it, on every page and export; they see it in "
                    "full only after giving a reason, which the access log keeps."),
    )

    objects = PersonalDataFieldQuerySet.as_manager()
    history = audited_history(m2m_fields=[purposes])

    class Meta:
        ordering = ["category", "code"]
        verbose_name = _("personal data field")
        verbose_name_plural = _("personal data fields")
        constraints = [
            models.UniqueConstraint(
                fields=["binding"], condition=~Q(binding=""), name="catalogue_field_binding_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"

    @property
    def is_mandatory(self) -> bool:
        return self.requirement == self.Requirement.MANDATORY

    @property
    def must_stay_in_uzbekistan(self) -> bool:
        """Localisation (ZRU-547 art. 27-1, 2026): biometric and genetic data are held in Uzbekistan only."""
        return self.sensitivity in MUST_STAY_IN_UZBEKISTAN

    def bound_model_field(self) -> models.Field:
        """The model field this entry is bound to; LookupError when the binding names none."""
        return field_of_binding(self.binding)

    def clean(self) -> None:
        if self.must_stay_in_uzbekistan:
            abroad = self.storage_country if self.storage_country != HOME_COUNTRY else (
                self.system.country if self.system_id and self.system.country != HOME_COUNTRY else "")
            if abroad:
                raise ValidationError({"storage_country": _(
                    "%(sensitivity)s data must stay in Uzbekistan (ZRU-547 art. 27-1); it cannot be held in "
                    "%(country)s.") % {"sensitivity": self.get_sensitivity_display(), "country": abroad}})
        if self.masking and not self.binding:
            raise ValidationError({"masking": _("Only a field bound to this back office is shown here, masked or "
                                                "not; bind it first or leave this empty.")})
        if self.binding:
            try:
                self.bound_model_field()
            except LookupError:
                raise ValidationError(
                    {"binding": _("“%(binding)s” is not a field of this back office.") % {"binding": self.binding}}
                ) from None

    def deletion_blockers(self) -> list[str]:
        if self.binding:
            return [_("%(code)s is bound to %(binding)s, which holds this data; remove the binding first.") % {
                "code": self.code, "binding": self.binding}]
        return []

    def delete(self, *args, **kwargs):
        if blockers := self.deletion_blockers():
            raise ProtectedError(" ".join(blockers), {self})
        return super().delete(*args, **kwargs)


class Service(TranslatedName):
    """A ShipEx service a subject may use, and the catalogue fields it needs (1.4.3.2)."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    needed_fields = models.ManyToManyField(
        PersonalDataField, verbose_name=_("data it needs"), related_name="services", blank=True,
        help_text=_("Only these fields may be disclosed to a contractor for this service (1.4.3.2)."),
    )

    history = audited_history(m2m_fields=[needed_fields])

    class Meta:
        ordering = ["code"]
        verbose_name = _("service")
        verbose_name_plural = _("services")


class ProcessingActivity(TranslatedName):
    """One processing activity of the records of processing (RoPA): what ShipEx does with which data, why.

    Its data are chosen from the catalogue, and each must serve one of its purposes there: the catalogue
    stays the one place that says which purposes an entry may serve; the activity only says which
    entries this piece of work uses. Deriving them from the purposes would not do: delivery, payments and
    the account all rest on 1.3.2.2, and would all list every entry serving it. What follows from the
    entries (systems, countries, retention, recipients) is read from them, never kept twice.
    """

    class SubjectCategory(models.TextChoices):
        CUSTOMERS = "customers", _("ShipEx users: senders and account holders")
        SHIPMENT_RECIPIENTS = "shipment_recipients", _("Recipients of shipments")
        VISITORS = "visitors", _("Visitors of the website and the app")
        APPLICANTS = "applicants", _("People who contact ShipEx with requests")

    code = models.SlugField(_("code"), max_length=50, unique=True)
    description = models.TextField(_("description"), blank=True)
    description_uz, description_ru = twin_fields(models.TextField, _("description (Uzbek)"), _("description (Russian)"))
    purposes = models.ManyToManyField(Purpose, verbose_name=_("purposes"), related_name="activities")
    subject_categories = models.JSONField(
        _("categories of data subjects"), default=list,
        help_text=_("Whose personal data this activity processes."),
    )
    fields = models.ManyToManyField(
        PersonalDataField, verbose_name=_("personal data"), related_name="activities",
        help_text=_("Catalogue entries this activity uses; each must serve one of its purposes in the catalogue."),
    )

    history = audited_history(m2m_fields=[purposes, fields])

    class Meta:
        ordering = ["code"]
        verbose_name = _("processing activity")
        verbose_name_plural = _("processing activities")

    def clean(self) -> None:
        categories = self.subject_categories
        if not isinstance(categories, list) or not categories:
            raise ValidationError({"subject_categories": _("Name at least one category of data subjects.")})
        unknown = [value for value in categories if value not in self.SubjectCategory.values]
        if unknown:
            raise ValidationError({"subject_categories": _("Unknown category of data subjects: %(values)s.") % {
                "values": ", ".join(map(str, unknown))}})

    @staticmethod
    def data_outside_purposes(purposes, fields) -> list[str]:
        """Codes of the entries that serve none of ``purposes`` in the catalogue (the activity may not use them)."""
        purpose_ids = {purpose.pk for purpose in purposes}
        return sorted(field.code for field in fields
                      if not purpose_ids & {purpose.pk for purpose in field.purposes.all()})

    @property
    def subject_categories_display(self) -> str:
        return "; ".join(str(self.SubjectCategory(value).label) for value in self.subject_categories
                         if value in self.SubjectCategory.values)
