"""Subjects as ShipEx's systems send them: one payload in, validated model instances out.

The API (``PUT``/``PATCH /api/v1/subjects/{account_id}``), the bulk upsert and the
``import_subjects`` command all read a system's subject through ``subject_from_payload``, so a
subject is accepted or refused the same way wherever it comes from. The rules are the catalogue's
(mandatory fields, clause 1.2.1.1) and the model's (identifiers normalised as the admin stores them).

A payload is a JSON object::

    {"account_id": "SX1002345", "full_name": "Aziza Karimova", "phone": "+998 90 123 45 67",
     "email": "aziza@mail.uz", "pinfl": "...", "passport": "AA1234567", "birth_date": "1990-04-01",
     "preferred_language": "uz", "registered_at": "2025-01-31T09:30:00+05:00",
     "addresses": [{"kind": "home", "region": "...", "city": "...", "street": "...",
                    "landmark": "", "postal_code": "100000"}]}

``keep_pinfl: true`` keeps a PINFL whose check digit does not match, as the admin's box does.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shipex_privacy.audit.events import Actor, AuditEvent
from shipex_privacy.audit.services import record_delete, record_save
from shipex_privacy.audit.versions import VersionPart, format_version, parse_version
from shipex_privacy.catalogue.models import PersonalDataField
from shipex_privacy.core import identifiers

from .models import ERASED_ACCOUNT_ID_RE, Address, DataSubject, normalise_account_id

# What a system may send beside the subject's own fields; anything else is refused by name.
ADDRESSES = "addresses"
KEEP_PINFL = "keep_pinfl"
# Fields that only the back office sets (state, ids, erasure): refused by name, with their own code.
READ_ONLY_FIELDS = frozenset({"id", "pk", "status", "status_changed_at", "version", "erased", "erased_at",
                              "anonymised", "subject", "subject_id", "created_at"})
ADDRESS_FIELDS = ("kind", "region", "city", "street", "landmark", "postal_code")
MAX_ADDRESSES = 20
CHANGES_LISTED = 5

# Defaults a PUT falls back to for what it leaves out (a PUT is the whole subject).
ERASED_STATUSES = (DataSubject.Status.CLOSED, DataSubject.Status.ANONYMISED)
# Registration times a system may state: none before ShipEx's accounts existed or in the future.
FIRST_REGISTRATION = datetime(2000, 1, 1, tzinfo=UTC)
SUBJECT_DEFAULTS = {"birth_date": None, "preferred_language": DataSubject.Language.UZ}


@dataclass(frozen=True)
class SubjectRules:
    """The catalogue's rules for a subject payload, read once (two queries) and reused for every payload.

    ``subject_fields`` / ``address_fields`` are what a system may send; ``mandatory_*`` what the
    catalogue's bound entries mark mandatory (clause 1.2.1.1), with the entry's name and code.
    """

    subject_fields: tuple[str, ...]
    address_fields: tuple[str, ...]
    mandatory_subject: dict[str, tuple[str, str]] = field(default_factory=dict)
    mandatory_address: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls) -> "SubjectRules":
        def mandatory(model) -> dict[str, tuple[str, str]]:
            entries = PersonalDataField.objects.filter(
                binding__startswith=f"{model._meta.app_label}.{model._meta.object_name}.",
                requirement=PersonalDataField.Requirement.MANDATORY)
            prefix = f"{model._meta.app_label}.{model._meta.object_name}."
            return {entry.binding.removeprefix(prefix): (str(entry.name), entry.code) for entry in entries}

        return cls(
            subject_fields=DataSubject.PERSONAL_DATA_FIELDS,
            address_fields=ADDRESS_FIELDS,
            mandatory_subject=mandatory(DataSubject),
            mandatory_address=mandatory(Address),
        )


class _Errors:
    """Collects refusals keyed by field path, to raise them all at once."""

    def __init__(self):
        self.by_field: dict[str, list[ValidationError]] = {}

    def add(self, path: str, message, code: str, params: dict | None = None) -> None:
        self.by_field.setdefault(path, []).append(ValidationError(message, code=code, params=params))

    def extend(self, path: str, error: ValidationError) -> None:
        self.by_field.setdefault(path, []).extend(error.error_list)

    def raise_any(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)


def _text_ok(value, path: str, errors: _Errors) -> bool:
    """A JSON string the database can store: no NUL character, no lone surrogate."""
    if not isinstance(value, str):
        errors.add(path, gettext_lazy("Expected a string."), "invalid_type")
        return False
    if "\x00" in value:
        errors.add(path, gettext_lazy("Null characters are not allowed."), "null_characters")
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        errors.add(path, gettext_lazy("The text is not valid Unicode."), "invalid")
        return False
    return True


# Field.clean of a plain field (no relation; Django's own clean, validate and run_validators) is a
# function of the value alone: to_python, choices, blank and the validators, none of which sees the
# instance. A batch sends the same regions, cities, kinds and languages thousands of times: each such
# value is cleaned once and its stored form kept. Small and bounded (emptied when full: the unique names
# and numbers pass through it, an import must keep flat memory); a refusal is never kept.
_CLEANED: dict[tuple[str, str, str], object] = {}
CLEANED_KEPT = 2_000


def _pure_clean(model_field) -> bool:
    kind = type(model_field)
    return (not model_field.is_relation and kind.clean is models.Field.clean
            and kind.validate is models.Field.validate and kind.run_validators is models.Field.run_validators)


def _clean(model, name: str, model_field, value, instance):
    if not (type(value) is str and _pure_clean(model_field)):
        return model_field.clean(value, instance)
    key = (model._meta.label, name, value)
    if key not in _CLEANED:
        cleaned = model_field.clean(value, instance)  # a refusal raises and is not kept
        if len(_CLEANED) >= CLEANED_KEPT:
            _CLEANED.clear()
        _CLEANED[key] = cleaned
    return _CLEANED[key]


def _clean_value(model, name: str, value, path: str, errors: _Errors, *, instance):
    """The stored form of one field's value (normalised as the model stores it), or ``errors`` gets why not.

    JSON ``null`` clears an optional field. Returns a (ok, value) pair.
    """
    model_field = model._meta.get_field(name)
    if value is None:
        value = None if model_field.null else ""
    elif name == "birth_date":
        parsed = _parse(parse_date, value, path, errors, gettext_lazy("Expected a date as YYYY-MM-DD."))
        if parsed is None:
            return False, None
        value = parsed
    elif name == "registered_at":
        parsed = _parse(parse_datetime, value, path, errors,
                        gettext_lazy("Expected a date and time in ISO 8601 with its UTC offset."))
        if parsed is None:
            return False, None
        if timezone.is_naive(parsed):
            errors.add(path, gettext_lazy("Give the time with its UTC offset, e.g. 2025-01-31T09:30:00+05:00."),
                       "naive_datetime")
            return False, None
        if not FIRST_REGISTRATION <= parsed <= timezone.now() + timedelta(days=1):
            errors.add(path, gettext_lazy("A registration time must lie between 2000 and today."),
                       "registered_at_range")
            return False, None
        value = parsed
    elif not _text_ok(value, path, errors):
        return False, None
    if value in (None, ""):
        return True, value  # whether it may be empty is the catalogue's rule, checked after
    try:
        return True, _clean(model, name, model_field, value, instance)
    except ValidationError as error:
        errors.extend(path, error)
        return False, None


def _parse(parser, value, path: str, errors: _Errors, message):
    if not _text_ok(value, path, errors):
        return None
    try:
        parsed = parser(value.strip())
    except (ValueError, OverflowError):
        parsed = None
    if parsed is None:
        errors.add(path, message, "invalid")
    return parsed


def _refuse_unknown(data: dict, known, path_prefix: str, errors: _Errors) -> None:
    for key in data:
        path = f"{path_prefix}{key}"
        if key in READ_ONLY_FIELDS:
            errors.add(path, gettext_lazy("“%(field)s” is set by the back office only; leave it out."),
                       "read_only", {"field": key[:80]})
        elif key not in known:
            errors.add(path, gettext_lazy("Unknown field “%(field)s”."), "unknown_field", {"field": key[:80]})


def _mandatory(obj, mandatory: dict[str, tuple[str, str]], path_prefix: str, errors: _Errors) -> None:
    for name, (label, code) in mandatory.items():
        path = f"{path_prefix}{name}"
        if path not in errors.by_field and getattr(obj, name, None) in (None, ""):
            errors.add(path, gettext_lazy("%(field)s is mandatory in the data catalogue (%(code)s, clause 1.2.1.1)."),
                       "mandatory", {"field": label, "code": code})


def _address_values(address: Address) -> tuple:
    return tuple(getattr(address, name) for name in ADDRESS_FIELDS)


def _addresses_from_payload(items, subject: DataSubject, existing: list[Address], rules: SubjectRules,
                            errors: _Errors) -> list[Address] | None:
    """The subject's new address list, reusing its existing rows where they match (see subject_from_payload)."""
    if not isinstance(items, list):
        errors.add(ADDRESSES, gettext_lazy("Expected a list of addresses."), "invalid_type")
        return None
    if len(items) > MAX_ADDRESSES:
        errors.add(ADDRESSES, gettext_lazy("At most %(max)s addresses."), "too_many", {"max": MAX_ADDRESSES})
        return None
    wanted: list[dict] = []
    for index, item in enumerate(items):
        prefix = f"{ADDRESSES}.{index}."
        if not isinstance(item, dict):
            errors.add(f"{ADDRESSES}.{index}", gettext_lazy("Expected an address object."), "invalid_type")
            continue
        _refuse_unknown(item, rules.address_fields, prefix, errors)
        values = {"kind": Address.Kind.HOME, "landmark": "", "postal_code": "", "region": "", "city": "",
                  "street": ""}
        probe = Address(subject=subject)
        for name in rules.address_fields:
            if name in item:
                ok, value = _clean_value(Address, name, item[name], prefix + name, errors, instance=probe)
                if ok:
                    values[name] = value if value is not None else ""
        for name, value in values.items():
            setattr(probe, name, value)
        _mandatory(probe, rules.mandatory_address, prefix, errors)
        for name in ("region", "city", "street"):  # the model's own rule too, whatever the catalogue says
            if f"{prefix}{name}" not in errors.by_field and not values[name]:
                errors.add(prefix + name, gettext_lazy("This field cannot be blank."), "blank")
        wanted.append(values)
    if errors.by_field:
        return None

    # 1. An address sent exactly as stored keeps its row (no history); 2. a changed one updates an
    # unclaimed row of the same kind; 3. the rest are new rows. Rows left unclaimed are deleted.
    free = list(existing)
    result: list[Address | None] = [None] * len(wanted)
    for index, values in enumerate(wanted):
        key = tuple(values[name] for name in ADDRESS_FIELDS)
        match = next((row for row in free if _address_values(row) == key), None)
        if match is not None:
            free.remove(match)
            result[index] = match
    for index, values in enumerate(wanted):
        if result[index] is not None:
            continue
        match = next((row for row in free if row.kind == values["kind"]), None)
        if match is not None:
            free.remove(match)
        else:
            match = Address(subject=subject)
        for name, value in values.items():
            setattr(match, name, value)
        result[index] = match
    return result


def subject_from_payload(payload: dict, *, subject: DataSubject | None, partial: bool,
                         rules: SubjectRules) -> tuple[DataSubject, list[Address] | None]:
    """Validate ``payload`` and apply it to ``subject`` (a new one when None) in memory; no queries per call.

    Returns the subject and its new address list (None when a PATCH leaves addresses out). Raises
    Django ValidationError keyed by field name (addresses errors as "addresses.0.city").

    - ``partial`` (PATCH) validates and applies only what the payload sends. Otherwise (PUT, create)
      the payload is the whole subject: the catalogue's mandatory fields are required and a field it
      leaves out is cleared (``registered_at`` excepted: it keeps its stored value, now on create).
    - ``account_id`` is required for a new subject (normalised: ``sx 1000 001`` → ``SX1000001``); for
      an existing one it may be sent only as the subject's own id.
    - Addresses: the list, when sent, replaces the subject's addresses. An address sent exactly as
      stored keeps its row untouched; a changed one updates a row of the same kind that no sent
      address matched (so its history shows the change); the others are new rows (``pk`` None).
      Existing rows missing from the returned list are to be deleted (``address_writes``), through
      ``record_delete``. The existing rows are read from ``subject.addresses.all()``: prefetch them
      (``prefetch_related("addresses")``) and this makes no query.
    - Unknown fields are refused by name (code ``unknown_field``), back-office-only ones too
      (``read_only``); a value of the wrong JSON type is refused (``invalid_type``), never a crash.
    - An erased or anonymised subject is refused (code ``erased``).
    """
    errors = _Errors()
    if not isinstance(payload, dict):
        raise ValidationError(gettext_lazy("Expected a JSON object describing the subject."), code="invalid_type")
    if subject is not None and subject.is_erased:
        raise erased_error()
    is_new = subject is None
    subject = DataSubject() if is_new else subject
    original_pinfl = "" if is_new else subject.pinfl
    _refuse_unknown(payload, {*rules.subject_fields, ADDRESSES, KEEP_PINFL}, "", errors)

    if "account_id" in payload or is_new:
        _apply_account_id(payload.get("account_id"), subject, is_new, errors)
    for name in rules.subject_fields:
        if name == "account_id":
            continue
        if name in payload:
            ok, value = _clean_value(DataSubject, name, payload[name], name, errors, instance=subject)
            if ok:
                setattr(subject, name, value)
        elif not partial and name != "registered_at":
            setattr(subject, name, SUBJECT_DEFAULTS.get(name, ""))

    keep_pinfl = payload.get(KEEP_PINFL, False)
    if not isinstance(keep_pinfl, bool):
        errors.add(KEEP_PINFL, gettext_lazy("Expected true or false."), "invalid_type")
    elif ("pinfl" not in errors.by_field and subject.pinfl and subject.pinfl != original_pinfl
          and not keep_pinfl and not identifiers.pinfl_check_digit_matches(subject.pinfl)):
        errors.add("pinfl", gettext_lazy(
            "The check digit of this PINFL does not match (expected %(digit)s at the end). Check the number; if "
            "the document really shows it, send keep_pinfl: true and say why in the reason."), "pinfl_check_digit",
            {"digit": identifiers.pinfl_check_digit(subject.pinfl[:13])})

    if not partial:
        _mandatory(subject, rules.mandatory_subject, "", errors)
    else:
        _mandatory(subject, {name: rule for name, rule in rules.mandatory_subject.items() if name in payload},
                   "", errors)

    addresses = None
    if ADDRESSES in payload:
        existing = [] if is_new else list(subject.addresses.all())
        addresses = _addresses_from_payload(payload[ADDRESSES], subject, existing, rules, errors)
    elif not partial:
        addresses = []
    errors.raise_any()
    return subject, addresses


def _apply_account_id(value, subject: DataSubject, is_new: bool, errors: _Errors) -> None:
    if value is None and is_new:
        errors.add("account_id", gettext_lazy("The account id is required."), "required")
        return
    if not _text_ok(value, "account_id", errors):
        return
    try:
        account_id = normalise_account_id(value)
    except ValidationError as error:
        errors.extend("account_id", error)
        return
    if ERASED_ACCOUNT_ID_RE.fullmatch(account_id):
        errors.add("account_id", gettext_lazy("“%(value)s” is the mark of an erased account, not an account id."),
                   "invalid_account_id", {"value": account_id})
    elif is_new:
        subject.account_id = account_id
    elif account_id != subject.account_id:
        errors.add("account_id", gettext_lazy("The account id of a subject does not change; this is %(own)s."),
                   "account_id_mismatch", {"own": subject.account_id})


def erased_error() -> ValidationError:
    return ValidationError(
        gettext_lazy("The data of this subject was erased or anonymised; it changes only through an erasure or a "
                     "correction request. Nothing was saved."), code="erased")


def erased_account_ids(account_ids) -> set[str]:
    """Which of these (normalised) account ids belonged to a subject that is now erased or anonymised.

    Erasure may replace the id itself (``ERASED-<pk>``): the subject's history still has it (an
    indexed column), so a system that sends the old id again is refused, never given a new subject.
    """
    account_ids = list(account_ids)
    if not account_ids:
        return set()
    rows = DataSubject.history.filter(
        account_id__in=account_ids,
        id__in=DataSubject.objects.filter(status__in=ERASED_STATUSES).values("pk"),
    ).values_list("account_id", flat=True).distinct()
    return set(rows)


def subject_as_payload(subject: DataSubject, addresses: list[Address] | None = None) -> dict:
    """The subject in the shape a system sends it; sent back as is (a PUT), it changes nothing."""
    if addresses is None:
        addresses = list(subject.addresses.all())
    body = {"account_id": subject.account_id}
    for name in DataSubject.PERSONAL_DATA_FIELDS:
        value = getattr(subject, name)
        if isinstance(value, datetime | date):
            value = value.isoformat()
        body[name] = value
    body[ADDRESSES] = [{name: getattr(address, name) for name in ADDRESS_FIELDS} for address in addresses]
    return body


# What changed: a snapshot before the payload is applied, compared after, so that a PUT that
# changes nothing writes no history (simple-history would write a row for every save).

def _field_values(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


@dataclass(frozen=True)
class Snapshot:
    subject: dict | None
    addresses: dict[int, tuple[Address, dict]]


def take_snapshot(subject: DataSubject | None) -> Snapshot:
    """The subject's stored values and its addresses, before ``subject_from_payload`` changes them in memory."""
    if subject is None:
        return Snapshot(None, {})
    return Snapshot(_field_values(subject),
                    {row.pk: (row, _field_values(row)) for row in subject.addresses.all()})


@dataclass(frozen=True)
class Writes:
    subject_changed: bool
    address_saves: list[Address]
    address_deletes: list[Address]

    @property
    def nothing(self) -> bool:
        return not (self.subject_changed or self.address_saves or self.address_deletes)


def planned_writes(snapshot: Snapshot, subject: DataSubject, addresses: list[Address] | None) -> Writes:
    """The rows to save and delete for what ``subject_from_payload`` returned; nothing for a no-op."""
    changed = snapshot.subject is None or _field_values(subject) != snapshot.subject
    if addresses is None:
        return Writes(changed, [], [])
    kept = {address.pk for address in addresses if address.pk is not None}
    saves = [address for address in addresses
             if address.pk is None or _field_values(address) != snapshot.addresses.get(address.pk, (None, None))[1]]
    deletes = [row for pk, (row, _values) in snapshot.addresses.items() if pk not in kept]
    return Writes(changed, saves, deletes)


# Versions (ETags): the newest history ids of the subject and of its addresses, as the admin's page
# version of the same subject, so either one's version is understood by the other.

def subject_version_parts(subject: DataSubject) -> list[VersionPart]:
    return [VersionPart(DataSubject, {"id": subject.pk}), VersionPart(Address, {"subject_id": subject.pk})]


def subject_version(subject: DataSubject) -> str:
    """``subjects.datasubject:41;subjects.address:97`` (two queries)."""
    return format_version(subject_version_parts(subject))


def if_match_versions(header: str) -> list[str] | None:
    """The versions an ``If-Match`` header names (quotes removed); None for ``*`` (any current version)."""
    header = header.strip()
    if header == "*":
        return None
    return [item.strip().removeprefix("W/").strip('"') for item in header.split(",") if item.strip()]


def check_version(subject: DataSubject, if_match: str) -> None:
    """Refuse (code ``stale_version``) unless ``if_match`` names the subject's current version.

    The message names what was saved since the given version, as the admin's stale-page message does.
    """
    wanted = if_match_versions(if_match)
    if wanted is None:
        return
    parts = subject_version_parts(subject)
    current = {part.key: part.latest() for part in parts}
    parsed = [version for version in map(parse_version, wanted) if version is not None]
    if any(version == current for version in parsed):
        return
    if not parsed:
        raise ValidationError(_("The version in If-Match could not be read; read the subject's current ETag and "
                                "send it. Nothing was changed."), code="stale_version")
    base = max(parsed, key=lambda version: sum(version.values()))
    newer = []
    for part in parts:
        newer.extend(part.rows().filter(history_id__gt=base.get(part.key, 0)).order_by("-history_id")
                     [:CHANGES_LISTED])
    newer.sort(key=lambda row: row.history_id, reverse=True)
    changes = "; ".join(
        _("%(record)s %(action)s by %(who)s on %(when)s (“%(reason)s”)") % {
            "record": str(row.instance_type._meta.verbose_name).capitalize(),
            "action": {"+": _("added"), "-": _("deleted")}.get(row.history_type, _("changed")),
            "who": row.history_username or _("the system"),
            "when": f"{timezone.localtime(row.history_date):%d.%m.%Y %H:%M}",
            "reason": row.history_change_reason or "—",
        } for row in newer[:CHANGES_LISTED])
    if not changes:
        raise ValidationError(_("The version in If-Match is not this subject's current version (%(current)s). "
                                "Nothing was changed.") % {"current": format_version(parts)}, code="stale_version")
    raise ValidationError(_("The subject changed since the version in If-Match, so nothing was changed: "
                            "%(changes)s. Read it again and send the current version.") % {"changes": changes},
                          code="stale_version")



def _locked_subject(account_id: str) -> DataSubject | None:
    return (DataSubject.objects.select_for_update().filter(account_id=account_id)
            .prefetch_related("addresses").first())


@transaction.atomic
def subject_put(*, account_id: str, payload: dict, partial: bool, if_match: str | None, actor: Actor,
                reason: str, rules: SubjectRules | None = None) -> tuple[DataSubject, bool]:
    """Create or update the subject ``account_id`` from a system's ``payload``; returns (subject, created).

    The stored subject is locked first. Refused: an erased or anonymised subject (``erased``), an
    ``If-Match`` that is not its current version (``stale_version``), ``If-Match`` on a subject that
    does not exist (``precondition_failed``), a PATCH of an unknown subject (``not_found``). Every row
    written names ``actor``, ``reason`` and ``AuditEvent.SUBJECT_RECEIVED``; a payload that changes
    nothing writes nothing. ``account_id`` is normalised here; a malformed one is refused.
    """
    rules = rules or SubjectRules.load()
    account_id = normalise_account_id(account_id)
    if not isinstance(payload, dict):
        raise ValidationError(_("Expected a JSON object describing the subject."), code="invalid_type")
    if "account_id" in payload:
        # The body may repeat the id, only as the one in the address.
        try:
            same = isinstance(payload["account_id"], str) and normalise_account_id(payload["account_id"]) == account_id
        except ValidationError:
            same = False
        if not same:
            raise ValidationError({"account_id": [ValidationError(
                _("The account id in the body differs from the one in the address (%(own)s)."),
                code="account_id_mismatch", params={"own": account_id})]})
    subject = _locked_subject(account_id)
    if subject is None and erased_account_ids([account_id]):
        raise erased_error()
    if subject is None:
        if partial:
            raise ValidationError(_("No subject has the account id %(id)s."), code="not_found",
                                  params={"id": account_id})
        if if_match is not None:
            # Bad input is told as such first; only a valid subject meets the precondition's refusal.
            subject_from_payload({**payload, "account_id": account_id}, subject=None, partial=False, rules=rules)
            raise ValidationError(_("If-Match names a version, but no subject has the account id %(id)s yet."),
                                  code="precondition_failed", params={"id": account_id})
        try:
            with transaction.atomic():
                return _write(None, {**payload, "account_id": account_id}, partial, actor, reason, rules), True
        except (IntegrityError, ValidationError) as error:
            # Another call created it meanwhile (a retry racing its first try): update it instead.
            if isinstance(error, ValidationError) and not _is_duplicate(error):
                raise
            subject = _locked_subject(account_id)
            if subject is None:
                raise
    if subject.is_erased:
        raise erased_error()
    if if_match is not None:
        check_version(subject, if_match)
    return _write(subject, payload, partial, actor, reason, rules), False


def _is_duplicate(error: ValidationError) -> bool:
    return hasattr(error, "error_dict") and any(
        item.code == "unique" for item in error.error_dict.get("account_id", []))


def _write(subject: DataSubject | None, payload, partial: bool, actor, reason: str,
           rules: SubjectRules) -> DataSubject:
    snapshot = take_snapshot(subject)
    subject, addresses = subject_from_payload(payload, subject=subject, partial=partial, rules=rules)
    writes = planned_writes(snapshot, subject, addresses)
    event = AuditEvent.SUBJECT_RECEIVED
    if writes.subject_changed:
        record_save(instance=subject, actor=actor, event=event, reason=reason)
    for row in writes.address_deletes:
        record_delete(instance=row, actor=actor, event=event, reason=reason)
    for address in writes.address_saves:
        address.subject = subject
        record_save(instance=address, actor=actor, event=event, reason=reason)
    # The prefetched rows are the old list: the caller reads the addresses as they are now.
    getattr(subject, "_prefetched_objects_cache", {}).pop("addresses", None)
    return subject
