"""Data subjects (ShipEx users) and the personal data this back office holds about them."""

import re
from contextlib import suppress
from datetime import date

from django.core.exceptions import ValidationError
from django.db import connections, models
from django.db.models import Q
from django.db.models.functions import Length, Lower
from django.db.models.lookups import Exact
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shipex_privacy.audit.history import audited_history
from shipex_privacy.catalogue.models import PersonalDataField, catalogue_read_once
from shipex_privacy.core import identifiers
from shipex_privacy.core.fields import (
    LowercaseEmailField,
    NameSearchKeyField,
    NormalisedCharField,
    PassportField,
    PhoneField,
    PinflField,
)
from shipex_privacy.core.names import name_search_key

# The one shape of a ShipEx account id, used by the model field, the search and every lookup:
# "SX" and 7 to 10 digits. An erased subject's id is replaced by ERASED-<its pk> (retention).
ACCOUNT_ID_RE = re.compile(r"SX[0-9]{7,10}")
ERASED_ACCOUNT_ID_RE = re.compile(r"ERASED-[0-9]{1,12}")
ACCOUNT_ID_SEPARATORS_RE = re.compile(r"[\s\-‐-―]")  # spaces, hyphens and dashes staff type
FIRST_BIRTH_DATE = date(1900, 1, 1)
# Full-width forms of the printable ASCII characters (U+FF01–U+FF5E), as East Asian keyboards type them.
FULL_WIDTH_TO_ASCII = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}


def normalise_account_id(value: str) -> str:
    """The stored form of an account id typed any way (``sx 1000 001`` → ``SX1000001``).

    Digits of any script become ASCII digits, as in every identifier (``identifiers.ascii_digits``),
    and full-width Latin letters their ASCII letters; anything else that does not fit the one pattern
    (a superscript ``²`` too) is refused with a ValidationError, so a stored id is always one a
    search finds.
    """
    typed = identifiers.ascii_digits(str(value)).translate(FULL_WIDTH_TO_ASCII).strip().upper()
    if ERASED_ACCOUNT_ID_RE.fullmatch(typed):
        return typed
    compact = ACCOUNT_ID_SEPARATORS_RE.sub("", typed)
    if not ACCOUNT_ID_RE.fullmatch(compact):
        raise ValidationError(
            _("“%(value)s” is not a ShipEx account id: SX and 7 to 10 digits, e.g. SX1002345."),
            code="invalid_account_id", params={"value": str(value)[:40]},
        )
    return compact


def validate_birth_date(value: date) -> None:
    """A birth date is a day between 1 January 1900 and today (Tashkent)."""
    if value < FIRST_BIRTH_DATE:
        raise ValidationError(_("A date of birth before 1900 cannot be right; check the year."),
                              code="birth_date_too_early")
    if value > timezone.localdate():
        raise ValidationError(_("A date of birth cannot be in the future."), code="birth_date_in_future")


class AccountIdField(NormalisedCharField):
    """The ShipEx account id, normalised and validated by ``normalise_account_id``."""

    normalise = staticmethod(normalise_account_id)


def subject_accepts_edits(subject_id: int | None, *, lock: bool = False) -> bool:
    """Whether the stored subject is open to edits; ``lock`` reads it under a row lock (in a transaction)."""
    if subject_id is None:
        return True
    subjects = DataSubject.objects.filter(pk=subject_id)
    if lock:
        subjects = subjects.select_for_update()
    status = subjects.values_list("status", flat=True).first()
    return status not in (DataSubject.Status.CLOSED, DataSubject.Status.ANONYMISED)


def erased_subject_ids(subject_ids, *, lock: bool = False) -> set[int]:
    """Which of these stored subjects are erased or anonymised: one query, locked in id order with ``lock``
    (two batches over the same subjects then wait for each other instead of deadlocking)."""
    ids = sorted({pk for pk in subject_ids if pk is not None})
    if not ids:
        return set()
    subjects = DataSubject.objects.filter(pk__in=ids).order_by("pk")
    if lock:
        subjects = subjects.select_for_update()
    closed = (DataSubject.Status.CLOSED, DataSubject.Status.ANONYMISED)
    return {pk for pk, status in subjects.values_list("pk", "status") if status in closed}


class SubjectHeldMixin:
    """A record of one subject's data (an address, a service used): read only once the subject is erased."""

    def accepts_edits(self, *, lock: bool = False) -> bool:
        return subject_accepts_edits(self.subject_id, lock=lock)

    @classmethod
    def accepts_edits_many(cls, instances, *, lock: bool = False) -> list[bool]:
        """``accepts_edits`` for a whole batch at once (audit/bulk.py asks this)."""
        erased = erased_subject_ids((instance.subject_id for instance in instances), lock=lock)
        return [instance.subject_id not in erased for instance in instances]


# A name is searched from this many letters of its key: one or two letters would match a large
# share of the table, which no one reads.
NAME_SEARCH_MIN_LENGTH = 3


def name_prefix_condition(term: str, *, vendor: str) -> Q:
    """Subjects whose name starts with ``term`` (case, accents, apostrophes and script aside).

    Names are kept surname first ("Karimova Aziza Rustamovna") but often said first name first:
    a term of two words or more is also tried with its first two words swapped, one more prefix.
    """
    key = name_search_key(term)
    if len(key.replace(" ", "")) < NAME_SEARCH_MIN_LENGTH or not any(char.isalpha() for char in key):
        return Q(pk__in=[])
    words = key.split(" ")
    keys = [key] if len(words) < 2 else [key, " ".join([words[1], words[0], *words[2:]])]
    condition = Q(pk__in=[])
    for prefix in keys:
        if vendor != "sqlite":
            condition |= Q(name_key__startswith=prefix)  # LIKE 'prefix%': what PostgreSQL's pattern_ops index answers
            continue
        # SQLite's LIKE ignores case, so it reads no index; a range on the key reads it, and in SQLite's
        # code-point order every key that starts with ``prefix`` lies in it (under a linguistic collation
        # it need not: PostgreSQL keeps the LIKE alone).
        condition |= Q(name_key__gte=prefix, name_key__lt=prefix[:-1] + chr(ord(prefix[-1]) + 1))
    return condition


class DataSubjectQuerySet(models.QuerySet):
    def with_account_id(self, typed: str) -> "DataSubjectQuerySet":
        """The subject with this account id, typed any way (``sx 1000 001``); none for a malformed one.

        Every lookup by account id (imports, forms, matching a request) goes through here, so it
        reads the id exactly as the model stored it.
        """
        try:
            return self.filter(account_id=normalise_account_id(typed))
        except ValidationError:
            return self.none()

    def search(self, term: str, *, by_name: bool = False) -> "DataSubjectQuerySet":
        """Subjects matching ``term`` as a phone, e-mail, account id or PINFL; with ``by_name``, also
        as the start of a name (the subject search; matching a request stays with identifiers, which
        name one person).

        Each reading of the term becomes an exact lookup on an indexed, normalised column (a
        prefix lookup on the name's search key), so the search never scans the table, however
        many subjects there are.
        """
        term = term.strip()
        if not term:
            return self.none()
        condition = Q(pk__in=[])
        if by_name:
            condition |= name_prefix_condition(term, vendor=connections[self.db].vendor)
        with suppress(ValidationError):  # an exact lookup on the indexed column, never a subquery
            condition |= Q(account_id=normalise_account_id(term))
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
    # Columns that repeat a personal-data field in another form, set from it on every write (so
    # erased with it): no catalogue entry of their own, never shown.
    DERIVED_FIELDS = ("name_key",)

    account_id = AccountIdField(
        _("account id"), max_length=20, unique=True, help_text=_("The ShipEx account number, e.g. SX1002345.")
    )
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    name_key = NameSearchKeyField(_("name search key"), source="full_name")
    phone = PhoneField(_("phone"), blank=True)
    email = LowercaseEmailField(_("e-mail"), blank=True)
    pinfl = PinflField(_("PINFL"), blank=True)
    passport = PassportField(_("passport"), blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True, validators=[validate_birth_date])
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
            # The name search is a prefix lookup (LIKE 'key%'): on PostgreSQL only a pattern_ops
            # index serves it under any collation; SQLite reads it as a plain index, by range.
            models.Index(fields=["name_key"], name="subject_name_key_idx", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["-registered_at", "-id"], name="subject_registered_idx"),
            # The changelist filtered by status, in its order (Meta.ordering): one index range.
            models.Index(fields=["status", "-registered_at", "-id"], name="subject_status_idx"),
            # The retention clock of closed accounts (retention/erasing.py account_closed): a run reads
            # only the accounts closed before its cut-off, not every closed one.
            models.Index(fields=["status_changed_at"], name="subject_closed_clock_idx",
                         condition=Q(status__in=("closed", "anonymised"))),
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

    def accepts_edits(self, *, lock: bool = False) -> bool:
        """False once the subject is erased or anonymised: only erasure and correction change it then.

        With ``lock`` the state is read from the database under a row lock, as a save must (the
        object in hand may be older than an erasure that committed meanwhile).
        """
        return subject_accepts_edits(self.pk, lock=lock) if lock else not self.is_erased

    @classmethod
    def accepts_edits_many(cls, instances, *, lock: bool = False) -> list[bool]:
        """``accepts_edits(lock=...)`` for a whole batch at once (audit/bulk.py asks this); a new subject accepts."""
        if not lock:
            return [not instance.is_erased for instance in instances]
        erased = erased_subject_ids((instance.pk for instance in instances), lock=True)
        return [instance.pk not in erased for instance in instances]

    @classmethod
    def validating_many(cls):
        """audit.bulk's hook around validating a batch: clean_fields reads the catalogue once, not once per row."""
        return catalogue_read_once()

    def clean_fields(self, exclude=None) -> None:
        # The catalogue decides what is mandatory (1.2.1.1). Fields that already failed (and are
        # in ``exclude``) are not reported twice; a closed or anonymised account keeps only what it must.
        errors = {}
        try:
            super().clean_fields(exclude)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        marker = self.account_id or ""
        if "account_id" not in errors and ERASED_ACCOUNT_ID_RE.fullmatch(marker) and marker != f"ERASED-{self.pk}":
            # Only retention writes this marker, and only as the subject's own number.
            errors["account_id"] = [ValidationError(
                _("“%(value)s” is the mark of an erased account, not an account id."),
                code="invalid_account_id", params={"value": marker})]
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


class Address(SubjectHeldMixin, models.Model):
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


class ServiceUse(SubjectHeldMixin, models.Model):
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


class RegistrationHour(models.Model):
    """How many subjects' ``registered_at`` falls in each UTC hour: kept by database triggers on
    ``DataSubject`` (subjects/registrations.py), so every write path keeps it, and read by the consent
    report instead of counting every subject for each month-end. A derived count, not a record: no history.
    """

    hour = models.DateTimeField(_("hour (UTC)"), primary_key=True)
    registered = models.IntegerField(_("subjects registered"))

    class Meta:
        verbose_name = _("registrations in an hour")
        verbose_name_plural = _("registrations per hour")

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00} UTC: {self.registered}"
