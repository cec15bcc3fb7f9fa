"""Data subjects (ShipEx users) and the personal data this back office holds about them."""

from contextlib import suppress

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length, Lower
from django.db.models.lookups import Exact
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shipex_privacy.audit.history import audited_history
from shipex_privacy.catalogue.models import PersonalDataField
from shipex_privacy.core import identifiers
from shipex_privacy.core.fields import LowercaseEmailField, PassportField, PhoneField, PinflField


class DataSubjectQuerySet(models.QuerySet):
    def search(self, term: str) -> "DataSubjectQuerySet":
        """Subjects matching ``term`` as a phone, e-mail, account id or PINFL.

        Each reading of the term becomes an exact lookup on an indexed, normalised column, so
        the search never scans the table, however many subjects there are.
        """
        term = term.strip()
        if not term:
            return self.none()
        condition = Q(account_id=term.upper())
        if "@" in term:
            condition |= Q(email=term.lower())
        for normalise, field in (
            (identifiers.normalise_phone, "phone"),
            (identifiers.normalise_pinfl, "pinfl"),
        ):
            with suppress(ValidationError):
                condition |= Q(**{field: normalise(term)})
        return self.filter(condition)


class DataSubject(models.Model):
    """A ShipEx user whose personal data we hold."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        LOGGED_OUT = "logged_out", _("Logged out — data no longer provided (1.5.2)")
        CLOSED = "closed", _("Account closed")
        ANONYMISED = "anonymised", _("Anonymised")

    class Language(models.TextChoices):
        UZ = "uz", "Oʻzbekcha"
        RU = "ru", "Русский"
        EN = "en", "English"

    # Every concrete field is one or the other; a system check holds new fields to it, and each
    # personal-data field needs a catalogue entry bound to it.
    PERSONAL_DATA_FIELDS = (
        "account_id", "full_name", "phone", "email", "pinfl", "passport", "birth_date",
        "preferred_language", "registered_at",
    )
    NON_PERSONAL_FIELDS = ("id", "status", "status_changed_at")

    account_id = models.CharField(
        _("account id"), max_length=20, unique=True, help_text=_("The ShipEx account number, e.g. SX1002345.")
    )
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    phone = PhoneField(_("phone"), blank=True)
    email = LowercaseEmailField(_("e-mail"), blank=True)
    pinfl = PinflField(_("PINFL"), blank=True)
    passport = PassportField(_("passport"), blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=2, choices=Language.choices, default=Language.UZ
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE)
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    registered_at = models.DateTimeField(_("registered at"), default=timezone.now)

    objects = DataSubjectQuerySet.as_manager()
    history = audited_history()

    class Meta:
        ordering = ["-registered_at", "-id"]
        verbose_name = _("data subject")
        verbose_name_plural = _("data subjects")
        permissions = [
            # Read-only roles see identifiers masked; this lets them reveal one, stating a reason
            # that the access log keeps (clause 1.7.1).
            ("reveal_identifiers", _("Can reveal a masked identifier, stating a reason")),
        ]
        indexes = [
            models.Index(fields=["phone"], name="subject_phone_idx"),
            models.Index(fields=["email"], name="subject_email_idx"),
            models.Index(fields=["pinfl"], name="subject_pinfl_idx"),
            models.Index(fields=["-registered_at", "-id"], name="subject_registered_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(account_id=""), name="subject_account_id_present"),
            models.CheckConstraint(
                condition=Q(phone="") | Q(phone__startswith="+"), name="subject_phone_e164"
            ),
            models.CheckConstraint(condition=Q(email=Lower("email")), name="subject_email_lowercase"),
            models.CheckConstraint(
                condition=Q(pinfl="") | Exact(Length("pinfl"), identifiers.PINFL_LENGTH),
                name="subject_pinfl_14_digits",
            ),
            models.CheckConstraint(
                condition=Q(passport="") | Exact(Length("passport"), 9), name="subject_passport_length"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name or _('(no name)')} · {self.account_id}"

    @property
    def is_erased(self) -> bool:
        return self.status in (self.Status.CLOSED, self.Status.ANONYMISED)

    def clean_fields(self, exclude=None) -> None:
        # The catalogue decides what is mandatory (1.2.1.1). Fields that already failed (and are
        # in ``exclude``) are not reported twice; a closed or anonymised account keeps only what it must.
        errors = {}
        try:
            super().clean_fields(exclude)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        if not self.is_erased:
            for name, entry in PersonalDataField.objects.bound_to(DataSubject).items():
                skipped = name in (exclude or ()) or name in errors
                if entry.is_mandatory and not skipped and getattr(self, name) in (None, ""):
                    errors[name] = [ValidationError(
                        _("%(field)s is mandatory in the data catalogue (%(code)s, clause 1.2.1.1)."),
                        code="mandatory",
                        params={"field": entry.name, "code": entry.code},
                    )]
        if errors:
            raise ValidationError(errors)


class Address(models.Model):
    """A delivery or registration address of a subject."""

    class Kind(models.TextChoices):
        HOME = "home", pgettext_lazy("address kind", "Home")
        WORK = "work", _("Work")
        PICKUP = "pickup", _("Pick-up point")
        OTHER = "other", _("Other")

    PERSONAL_DATA_FIELDS = ("region", "city", "street", "landmark", "postal_code")
    NON_PERSONAL_FIELDS = ("id", "subject", "kind", "created_at")

    subject = models.ForeignKey(
        DataSubject, verbose_name=_("data subject"), on_delete=models.PROTECT, related_name="addresses"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.HOME)
    region = models.CharField(_("region"), max_length=100)
    city = models.CharField(_("city or district"), max_length=100)
    street = models.CharField(_("street, house, apartment"), max_length=200)
    landmark = models.CharField(_("landmark (moʻljal)"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=6, blank=True)
    created_at = models.DateTimeField(_("added at"), default=timezone.now)

    history = audited_history()

    class Meta:
        ordering = ["subject", "kind", "id"]
        verbose_name = _("address")
        verbose_name_plural = _("addresses")

    def __str__(self) -> str:
        return ", ".join(part for part in (self.street, self.city, self.region) if part)


class ServiceUse(models.Model):
    """A ShipEx service the subject uses (1.4.3.2: contractors may receive only what it needs)."""

    PERSONAL_DATA_FIELDS = ("service", "started_on")
    NON_PERSONAL_FIELDS = ("id", "subject")

    subject = models.ForeignKey(
        DataSubject, verbose_name=_("data subject"), on_delete=models.PROTECT, related_name="service_uses"
    )
    service = models.ForeignKey(
        "catalogue.Service", verbose_name=_("service"), on_delete=models.PROTECT, related_name="uses"
    )
    started_on = models.DateField(_("uses it since"))

    history = audited_history()

    class Meta:
        ordering = ["subject", "service"]
        verbose_name = _("service used")
        verbose_name_plural = _("services used")
        constraints = [models.UniqueConstraint(fields=["subject", "service"], name="service_use_once")]

    def __str__(self) -> str:
        return f"{self.subject} · {self.service}"
