"""A batch of events from a ShipEx app: each one applied in full, acknowledged as a duplicate, or refused.

``apply_event_batch`` reads every event (its fields, strictly), keeps out the ones already received
(``ReceivedEvent``: a client's ``event_id`` is applied once, ever), then applies the rest in one
transaction through the consents' batch path (consents/intake.py) — in ``occurred_at`` order, so a
late older event lands in its place in the consent ledger without overriding a newer state.

Idempotency under concurrent retries: the batch first claims its event ids with one
``INSERT … ON CONFLICT DO NOTHING RETURNING`` on ``received_event_once_per_client``, in event id
order. A retry of a batch still running waits there for the first to end, then finds the ids taken
(duplicates) — or free again, if the first rolled back. Only applied events keep their claim: a
refused event may be sent again, corrected. Then the subjects are locked, in id order.

Refusal codes (``EventOutcome.code``; ``field`` names the offending field, dotted inside evidence):

=========================  ===========================================================================
``not_an_object``          the event is not a JSON object
``not_json``               an NDJSON line that is not JSON (the detail gives its line number)
``required``               a field the type needs is missing
``unknown_field``          a field the type does not have (a typo must not pass as an event without it)
``invalid``                a value of the wrong kind, length or choice
``invalid_date``           not an ISO 8601 date and time with its offset (``2026-11-25T14:30:00+05:00``)
``implausible_date``       before 2000 or from 2100 on
``in_future``              later than the back office's clock, beyond 2 minutes of clock skew
``unknown_type``           a type this API does not take
``unknown_subject``        no subject with this account id (send it with PUT /api/v1/subjects first)
``erased``                 the subject's account is closed or anonymised
``unknown_purpose``        no purpose with this clause
``unknown_policy_version`` no policy version with this label
``policy_not_in_force``    the version is not published, or not yet in force at ``occurred_at``
``not_consent_based``      the purpose does not rest on consent (and no recipient kind is named)
``unknown_catalogue_code`` ``covered_data`` names a code the data catalogue does not have
``term_before_grant``      ``expires_at`` (or the day after ``term_ends_on``) is not after ``occurred_at``
``channel_not_written``    a grant covering special or biometric data through a channel that is neither
                           written nor electronic (the call centre): such consent must be written or
                           electronic (Ministry of Justice model procedure on consent no. 3478)
``no_change``              a grant while the consent is in force at that moment, a withdrawal while it
                           is not: the ledger already says so, nothing to do (resending will not help)
``already_accepted``       the subject accepted this policy version before
``strictly_necessary``     strictly necessary cookies need no choice
=========================  ===========================================================================
"""

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.validators import validate_ipv46_address
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shipex_privacy.audit.bulk import record_save_many
from shipex_privacy.audit.events import AuditEvent
from shipex_privacy.catalogue.models import Purpose
from shipex_privacy.consents import intake
from shipex_privacy.consents.models import (
    Channel,
    CookieCategory,
    CookieConsentEvent,
    PolicyVersion,
    RecipientKind,
    term_end,
)
from shipex_privacy.consents.services import EARLIEST_MOMENT, LATEST_MOMENT, ConsentDocument, Evidence
from shipex_privacy.subjects.models import DataSubject, normalise_account_id

from .models import ApiClient, ReceivedEvent

MAX_EVENTS = 1000
# An app's clock may run a little fast: a moment up to this far ahead is taken as the back office's
# now (a ledger never holds a future event); further ahead it is refused.
CLOCK_SKEW = timedelta(minutes=2)

APPLIED, DUPLICATE, REFUSED = "applied", "duplicate", "refused"


class EventType:
    POLICY_ACCEPTED = "policy.accepted"
    CONSENT_GRANTED = "consent.granted"
    CONSENT_WITHDRAWN = "consent.withdrawn"
    COOKIE_CHOICE = "cookie.choice"
    SUBJECT_LOGGED_OUT = "subject.logged_out"


COMMON_FIELDS = ("event_id", "type", "occurred_at", "reason")
# Per type: the fields it requires, then those it may have (beyond COMMON_FIELDS).
FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    EventType.POLICY_ACCEPTED: (("account_id", "version", "channel"), ("evidence",)),
    EventType.CONSENT_GRANTED: (
        ("account_id", "purpose", "channel", "policy_version"),
        ("recipient_kind", "evidence", "term_ends_on", "expires_at", "covered_data", "allows_third_party_transfer",
         "allows_cross_border_transfer", "allows_publication")),
    EventType.CONSENT_WITHDRAWN: (("account_id", "purpose", "channel"), ("recipient_kind", "evidence")),
    EventType.COOKIE_CHOICE: (("category", "choice", "channel"), ("account_id", "visitor_id", "evidence")),
    EventType.SUBJECT_LOGGED_OUT: (("account_id",), ("channel", "evidence")),
}
EVIDENCE_FIELDS = ("ip_address", "user_agent", "reference")
COOKIE_CHOICES = {"granted": CookieConsentEvent.Kind.GRANT, "refused": CookieConsentEvent.Kind.WITHDRAW}
# The choices' values once: TextChoices.values builds a new list on every call, and _read asks for them per event.
CHANNELS, RECIPIENT_KINDS, COOKIE_CATEGORIES = tuple(Channel.values), tuple(RecipientKind.values), \
    tuple(CookieCategory.values)

# An event id, like a request's reference: printable ASCII without spaces, 1 to 100 characters.
EVENT_ID_RE = re.compile(r"[!-~]{1,100}")
# ISO 8601 date and time with its offset; seconds and their fraction optional. [0-9], not \d: only ASCII digits.
MOMENT_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})")
DAY_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass
class EventOutcome:
    index: int
    event_id: str | None
    status: str
    code: str | None = None
    detail: str = ""
    field: str | None = None


@dataclass(frozen=True)
class UnreadableEvent:
    """An NDJSON line that is not JSON: refused on its own, the other lines go on."""

    line: int
    message: str


class _Refusal(Exception):
    def __init__(self, code: str, detail: str, field: str | None = None):
        super().__init__(detail)
        self.code, self.detail, self.field = code, str(detail), field


@dataclass
class _Event:
    index: int
    event_id: str
    type: str
    occurred_at: datetime  # as the ledger records it (never ahead of our clock)
    sent_at: datetime  # as the app sent it
    values: dict
    account_id: str | None = None
    reason: str = ""
    item: object = field(default=None)


def _shown(value, limit: int = 100) -> str:
    """A value of the caller's as it can be echoed back (no lone surrogates, bounded)."""
    return str(value)[:limit].encode("utf-8", "backslashreplace").decode("utf-8")


def _text(values: dict, name: str, max_length: int, *, label: str | None = None, blank: bool = False) -> str | None:
    value = values.get(name)
    label = label or name
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Refusal("invalid", _("%(field)s must be a string.") % {"field": label}, label)
    if len(value) > max_length:
        raise _Refusal("invalid", _("%(field)s is longer than %(max)s characters.") % {
            "field": label, "max": max_length}, label)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Refusal("invalid", _("%(field)s is not valid text.") % {"field": label}, label) from None
    if "\x00" in value:
        raise _Refusal("invalid", _("%(field)s contains a NUL character.") % {"field": label}, label)
    value = value.strip()
    if not value and not blank:
        raise _Refusal("invalid", _("%(field)s is empty.") % {"field": label}, label)
    return value


def _choice(values: dict, name: str, choices, *, blank: bool = False) -> str | None:
    value = _text(values, name, 40, blank=blank)
    if value is None or (blank and value == ""):
        return value
    if value not in choices:
        raise _Refusal("invalid", _("%(field)s “%(value)s” is not one of: %(choices)s.") % {
            "field": name, "value": _shown(value, 40), "choices": ", ".join(choices)}, name)
    return value


def _boolean(values: dict, name: str) -> bool:
    value = values.get(name, False)
    if not isinstance(value, bool):
        raise _Refusal("invalid", _("%(field)s must be true or false.") % {"field": name}, name)
    return value


def parse_moment(value, name: str) -> datetime:
    """An ISO 8601 date and time with its offset, from 2000 to 2099; refused with a code otherwise."""
    if not isinstance(value, str) or not MOMENT_RE.fullmatch(value):
        raise _Refusal("invalid_date", _(
            "%(field)s must be an ISO 8601 date and time with its offset, for example 2026-11-25T14:30:00+05:00.")
            % {"field": name}, name)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Refusal("invalid_date", _("%(field)s is not a real date and time.") % {"field": name}, name) from None
    if not EARLIEST_MOMENT <= moment < LATEST_MOMENT:
        raise _Refusal("implausible_date", _(
            "%(field)s is not a plausible date; dates from 2000 to 2099 are accepted.") % {"field": name}, name)
    return moment


def parse_day(value, name: str) -> date:
    """An ISO 8601 date (2026-11-30), from 2000 to 2099; refused with a code otherwise."""
    if not isinstance(value, str) or not DAY_RE.fullmatch(value):
        raise _Refusal("invalid_date", _("%(field)s must be an ISO 8601 date, for example 2026-11-30.")
                       % {"field": name}, name)
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise _Refusal("invalid_date", _("%(field)s is not a real date.") % {"field": name}, name) from None
    if not EARLIEST_MOMENT.year <= day.year < LATEST_MOMENT.year - 1:  # its term_end stays before 2100
        raise _Refusal("implausible_date", _(
            "%(field)s is not a plausible date; dates from 2000 to 2098 are accepted.") % {"field": name}, name)
    return day


def _evidence(values: dict, channel: str) -> Evidence:
    evidence = values.get("evidence")
    if evidence is None:
        evidence = {}
    if not isinstance(evidence, dict):
        raise _Refusal("invalid", _("evidence must be an object."), "evidence")
    unknown = sorted(set(evidence) - set(EVIDENCE_FIELDS), key=str)
    if unknown:
        raise _Refusal("unknown_field", _("Unknown field: %(fields)s.") % {
            "fields": ", ".join(f"evidence.{_shown(name, 40)}" for name in unknown)},
            f"evidence.{_shown(unknown[0], 40)}")
    ip_address = _text(evidence, "ip_address", 45, label="evidence.ip_address")
    if ip_address is not None:
        try:
            validate_ipv46_address(ip_address)
        except ValidationError:
            raise _Refusal("invalid", _("evidence.ip_address is not an IP address."), "evidence.ip_address") from None
    return Evidence(
        channel=channel, ip_address=ip_address,
        user_agent=_text(evidence, "user_agent", 400, label="evidence.user_agent", blank=True) or "",
        reference=_text(evidence, "reference", 200, label="evidence.reference", blank=True) or "")


def _read(index: int, raw, now: datetime) -> _Event:
    """One event's fields, checked without the database; raises _Refusal."""
    if isinstance(raw, UnreadableEvent):
        raise _Refusal("not_json", _("Line %(line)s is not JSON: %(message)s") % {
            "line": raw.line, "message": raw.message})
    if not isinstance(raw, dict):
        raise _Refusal("not_an_object", _("An event must be a JSON object."))
    if "event_id" not in raw:
        raise _Refusal("required", _("event_id is required."), "event_id")
    event_id = raw["event_id"]
    if not isinstance(event_id, str) or not EVENT_ID_RE.fullmatch(event_id):
        raise _Refusal("invalid", _("event_id must be 1 to 100 printable characters without spaces."), "event_id")
    if "type" not in raw:
        raise _Refusal("required", _("type is required."), "type")
    kind = raw["type"]
    if not isinstance(kind, str) or kind not in FIELDS:
        raise _Refusal("unknown_type", _("Unknown event type “%(type)s”; the types are: %(types)s.") % {
            "type": _shown(kind, 40), "types": ", ".join(FIELDS)}, "type")
    required, optional = FIELDS[kind]
    unknown = sorted(set(raw) - set(COMMON_FIELDS) - set(required) - set(optional), key=str)
    if unknown:
        raise _Refusal("unknown_field", _("Unknown field: %(fields)s.") % {
            "fields": ", ".join(_shown(name, 40) for name in unknown)}, _shown(unknown[0], 40))
    missing = [name for name in ("occurred_at", *required) if raw.get(name) is None]
    if missing:
        raise _Refusal("required", _("Required: %(fields)s.") % {"fields": ", ".join(missing)}, missing[0])
    sent_at = parse_moment(raw["occurred_at"], "occurred_at")
    if sent_at > now + CLOCK_SKEW:
        raise _Refusal("in_future", _("occurred_at is in the future (the back office's clock says %(now)s).") % {
            "now": now.isoformat(timespec="seconds")}, "occurred_at")
    event = _Event(index=index, event_id=event_id, type=kind, occurred_at=min(sent_at, now), sent_at=sent_at,
                   values=raw, reason=_text(raw, "reason", 500, blank=True) or "")
    account_id = _text(raw, "account_id", 40)
    if account_id is not None:
        try:
            event.account_id = normalise_account_id(account_id)
        except ValidationError as error:
            raise _Refusal("invalid", " ".join(error.messages), "account_id") from None
    if kind == EventType.COOKIE_CHOICE:
        visitor_id = _text(raw, "visitor_id", 64)
        if event.account_id is None and visitor_id is None:
            raise _Refusal("required", _("A cookie choice names account_id or visitor_id."), "account_id")
        _choice(raw, "category", COOKIE_CATEGORIES)
        _choice(raw, "choice", list(COOKIE_CHOICES))
    channel = _choice(raw, "channel", CHANNELS) or Channel.APP
    event.values = {**raw, "channel": channel, "evidence": _evidence(raw, channel)}
    if kind in (EventType.CONSENT_GRANTED, EventType.CONSENT_WITHDRAWN):
        _text(raw, "purpose", 20)
        _choice(raw, "recipient_kind", RECIPIENT_KINDS, blank=True)
    if kind == EventType.CONSENT_GRANTED:
        _text(raw, "policy_version", 20)
        if raw.get("expires_at") is not None and raw.get("term_ends_on") is not None:
            raise _Refusal("invalid", _("Give the term as term_ends_on or as expires_at, not both."), "term_ends_on")
        if raw.get("expires_at") is not None:
            event.values["expires_at"] = parse_moment(raw["expires_at"], "expires_at")
        if raw.get("term_ends_on") is not None:
            # The last day in force: the consent lapses at 00:00 Tashkent time on the day after.
            event.values["expires_at"] = term_end(parse_day(raw["term_ends_on"], "term_ends_on"))
        event.values["document"] = _document(raw)
    if kind == EventType.POLICY_ACCEPTED:
        _text(raw, "version", 20)
    return event


def _document(raw: dict) -> ConsentDocument:
    covered = raw.get("covered_data", [])
    if covered is None:
        covered = []
    if not isinstance(covered, list) or len(covered) > 200:
        raise _Refusal("invalid", _("covered_data must be a list of at most 200 catalogue codes."), "covered_data")
    codes = [_text({"code": code}, "code", 100, label="covered_data") for code in covered]
    return ConsentDocument(
        covered_data=list(dict.fromkeys(codes)),
        allows_third_party_transfer=_boolean(raw, "allows_third_party_transfer"),
        allows_cross_border_transfer=_boolean(raw, "allows_cross_border_transfer"),
        allows_publication=_boolean(raw, "allows_publication"))


# --- idempotency -----------------------------------------------------------------------------------------


def _claim(client: ApiClient, events: list[_Event], now: datetime) -> set[str]:
    """Claim the events' ids for ``client``; the ids this batch got (the others were received before).

    One statement: INSERT … ON CONFLICT DO NOTHING RETURNING. ReceivedEvent is neither tracked nor
    append-only (it is the API's own bookkeeping), and the ORM's ignore_conflicts returns no rows.
    Ids in sorted order, so two batches sharing ids take their row locks in one order.
    """
    events = sorted(events, key=lambda event: event.event_id)
    table = connection.ops.quote_name(ReceivedEvent._meta.db_table)
    columns = "(client_id, event_id, type, occurred_at, received_at)"
    conflict = "ON CONFLICT (client_id, event_id) DO NOTHING RETURNING event_id"
    claimed: set[str] = set()
    ops = connection.ops
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One array per column: composing a VALUES list of thousands of parameters costs more than
            # running it. UNNEST gives the rows in array order, so the locks are still taken in id order.
            cursor.execute(
                f"INSERT INTO {table} {columns} SELECT %s, u.event_id, u.type, u.occurred_at, %s "  # noqa: S608 (names are the model's, values parameters)
                f"FROM UNNEST(%s::varchar[], %s::varchar[], %s::timestamptz[]) AS u(event_id, type, occurred_at) "
                f"{conflict}",
                [client.pk, now, [event.event_id for event in events], [event.type for event in events],
                 [event.sent_at for event in events]])
            return {row[0] for row in cursor.fetchall()}
        for start in range(0, len(events), 500):
            chunk = events[start:start + 500]
            rows = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
            parameters = []
            for event in chunk:
                parameters += [client.pk, event.event_id, event.type, ops.adapt_datetimefield_value(event.sent_at),
                               ops.adapt_datetimefield_value(now)]
            cursor.execute(f"INSERT INTO {table} {columns} VALUES {rows} {conflict}", parameters)  # noqa: S608 (as above)
            claimed.update(row[0] for row in cursor.fetchall())
    return claimed


# --- applying --------------------------------------------------------------------------------------------


def _default_reason(event: _Event, client: ApiClient) -> str:
    values = {"client": client.name, "id": event.event_id}
    values.update({name: _shown(event.values[name].strip(), 20) for name in ("version", "purpose")
                   if name in event.values})
    if event.type == EventType.POLICY_ACCEPTED:
        return _("1.1 privacy policy %(version)s accepted in %(client)s (event %(id)s)") % values
    if event.type == EventType.CONSENT_GRANTED:
        return _("%(purpose)s consent granted in %(client)s (event %(id)s)") % values
    if event.type == EventType.CONSENT_WITHDRAWN:
        return _("%(purpose)s consent withdrawn in %(client)s (event %(id)s)") % values
    if event.type == EventType.SUBJECT_LOGGED_OUT:
        return _("1.5.2 logged out in %(client)s (event %(id)s): processing stopped") % values
    return _("1.6.2 cookie choice in %(client)s (event %(id)s)") % values


def _evidence_with_reference(event: _Event) -> Evidence:
    evidence: Evidence = event.values["evidence"]
    if evidence.reference:
        return evidence
    return Evidence(channel=evidence.channel, ip_address=evidence.ip_address, user_agent=evidence.user_agent,
                    reference=_("app event %(id)s") % {"id": event.event_id})


def _item(event: _Event, subject: DataSubject | None, purposes: dict, versions: dict, reason: str):
    """The consents' batch item for one event; raises _Refusal for a purpose or version not found."""
    values, evidence = event.values, _evidence_with_reference(event)
    common = {"key": event.index, "occurred_at": event.occurred_at, "evidence": evidence, "reason": reason}
    if event.type in (EventType.CONSENT_GRANTED, EventType.CONSENT_WITHDRAWN):
        purpose = purposes.get(values["purpose"].strip())
        if purpose is None:
            raise _Refusal("unknown_purpose", _("No purpose %(clause)s.") % {
                "clause": _shown(values["purpose"], 20)}, "purpose")
        recipient_kind = (values.get("recipient_kind") or "").strip()
        if event.type == EventType.CONSENT_WITHDRAWN:
            return intake.Withdrawal(subject=subject, purpose=purpose, recipient_kind=recipient_kind, **common)
        version = versions.get(values["policy_version"].strip())
        if version is None:
            raise _Refusal("unknown_policy_version", _("Unknown policy version “%(version)s”.") % {
                "version": _shown(values["policy_version"], 20)}, "policy_version")
        return intake.Grant(subject=subject, purpose=purpose, recipient_kind=recipient_kind, policy_version=version,
                            expires_at=values.get("expires_at"), document=values["document"], **common)
    if event.type == EventType.POLICY_ACCEPTED:
        version = versions.get(values["version"].strip())
        if version is None:
            raise _Refusal("unknown_policy_version", _("Unknown policy version “%(version)s”.") % {
                "version": _shown(values["version"], 20)}, "version")
        return intake.Acceptance(subject=subject, version=version, **common)
    if event.type == EventType.COOKIE_CHOICE:
        return intake.CookieChoice(subject=subject, visitor_id=(values.get("visitor_id") or "").strip(),
                                   category=values["category"].strip(),
                                   kind=COOKIE_CHOICES[values["choice"].strip()], **common)
    return intake.Stop(subject=subject, **common)


# Which field a service's refusal code is about, per event type where it differs.
CODE_FIELDS = {
    "erased": "account_id", "unknown_catalogue_code": "covered_data", "term_before_grant": "expires_at",
    "channel_not_written": "channel",
    "in_future": "occurred_at", "implausible_date": "occurred_at", "not_consent_based": "purpose",
    "strictly_necessary": "category", "already_accepted": "version",
}


def _refused_by_service(event: _Event, error: ValidationError) -> EventOutcome:
    code = next((item.code for item in error.error_list if item.code), None) or "invalid"
    name = CODE_FIELDS.get(code)
    if code == "policy_not_in_force":
        name = "version" if event.type == EventType.POLICY_ACCEPTED else "policy_version"
    if code == "term_before_grant" and event.values.get("term_ends_on") is not None:
        name = "term_ends_on"
    return EventOutcome(event.index, event.event_id, REFUSED, code, " ".join(error.messages), name)


def apply_event_batch(*, client: ApiClient, events: Sequence, actor) -> list[EventOutcome]:
    """Apply a batch of at most MAX_EVENTS events sent by ``client``; one outcome per event, in order.

    ``events`` are the decoded JSON values (an :class:`UnreadableEvent` for an NDJSON line that was
    not JSON). Never raises for what an event holds: each bad event is refused with its code.
    """
    if len(events) > MAX_EVENTS:
        raise ValueError(f"at most {MAX_EVENTS} events in a batch")
    now = timezone.now()
    outcomes: list[EventOutcome | None] = [None] * len(events)
    readable: list[_Event] = []
    seen: set[str] = set()
    for index, raw in enumerate(events):
        try:
            event = _read(index, raw, now)
        except _Refusal as refusal:
            event_id = raw.get("event_id") if isinstance(raw, dict) else None
            shown = event_id if isinstance(event_id, str) and EVENT_ID_RE.fullmatch(event_id) else None
            outcomes[index] = EventOutcome(index, shown, REFUSED, refusal.code, refusal.detail, refusal.field)
            continue
        if event.event_id in seen:
            outcomes[index] = _duplicate(event, _("This event id came earlier in the same batch."))
            continue
        seen.add(event.event_id)
        readable.append(event)
    if readable:
        with transaction.atomic():
            _apply(client, readable, actor, now, outcomes)
    return outcomes  # type: ignore[return-value]  (every index has its outcome now)


def _duplicate(event: _Event, detail: str) -> EventOutcome:
    return EventOutcome(event.index, event.event_id, DUPLICATE, None, str(detail), None)


def _apply(client: ApiClient, events: list[_Event], actor, now: datetime, outcomes: list) -> None:
    claimed = _claim(client, events, now)
    mine = []
    for event in events:
        if event.event_id in claimed:
            mine.append(event)
        else:
            outcomes[event.index] = _duplicate(event, _("This event was received before; it is not applied again."))
    subjects = intake.lock_subjects(account_ids={event.account_id for event in mine if event.account_id})
    clauses = {event.values["purpose"].strip() for event in mine if "purpose" in event.values}
    purposes = {purpose.clause: purpose for purpose in Purpose.objects.filter(clause__in=clauses)} if clauses else {}
    labels = {event.values[name].strip() for event in mine for name in ("version", "policy_version")
              if name in event.values}
    versions = {version.version: version for version in PolicyVersion.objects.filter(version__in=labels)} \
        if labels else {}

    items, by_index = [], {}
    for event in mine:
        by_index[event.index] = event
        try:
            subject = None
            if event.account_id is not None:
                subject = subjects.get(event.account_id)
                if subject is None:
                    raise _Refusal("unknown_subject", _("No subject with account id %(id)s.") % {
                        "id": event.account_id}, "account_id")
            reason = event.reason or _default_reason(event, client)
            event.item = _item(event, subject, purposes, versions, reason)
        except _Refusal as refusal:
            outcomes[event.index] = EventOutcome(event.index, event.event_id, REFUSED, refusal.code, refusal.detail,
                                                 refusal.field)
            continue
        items.append(event.item)

    # Every value was checked by _read (lengths, choices, addresses): no model validation per row again.
    result = intake.intake_apply(items=items, actor=actor, validate=False)
    for index, error in result.refused.items():
        outcomes[index] = _refused_by_service(by_index[index], error)
    stops = [by_index[item.key] for item in items
             if isinstance(item, intake.Stop) and item.key not in result.refused]
    _log_out(stops, actor)
    for event in mine:
        if outcomes[event.index] is None:
            detail = ""
            if event.index in result.withdrawn:
                detail = _("Processing stopped; %(count)s consents withdrawn.") % {
                    "count": result.withdrawn[event.index]}
            outcomes[event.index] = EventOutcome(event.index, event.event_id, APPLIED, None, str(detail), None)
    refused_ids = [event.event_id for event in mine if outcomes[event.index].status == REFUSED]
    if refused_ids:
        # A refused event keeps no claim: it may be sent again, corrected.
        ReceivedEvent.objects.filter(client=client, event_id__in=refused_ids).delete()


def _log_out(stops: list[_Event], actor) -> None:
    """A log-out (1.5.2) as the stop request does it: an active subject becomes logged out.

    The consents in force were withdrawn at the log-out's moment by the consents' batch (so a late
    log-out lands in the ledger in its place); a subject whose status changed after that moment keeps it.
    """
    changed, reasons = {}, {}
    for event in sorted(stops, key=lambda event: event.occurred_at):
        subject = event.item.subject
        if subject.pk in changed or subject.status != DataSubject.Status.ACTIVE:
            continue
        if subject.status_changed_at is not None and subject.status_changed_at > event.occurred_at:
            continue
        subject.status, subject.status_changed_at = DataSubject.Status.LOGGED_OUT, event.occurred_at
        changed[subject.pk], reasons[subject.pk] = subject, event.item.reason
    if changed:
        # Only the status columns change, to a valid choice: the rest of the row is as it was saved.
        record_save_many(instances=list(changed.values()), actor=actor, reason=list(reasons.values()),
                         event=AuditEvent.SUBJECT_LOGGED_OUT, validate=False)


def counts(outcomes: Sequence[EventOutcome]) -> dict[str, int]:
    found = {APPLIED: 0, DUPLICATE: 0, REFUSED: 0}
    for outcome in outcomes:
        found[outcome.status] += 1
    return found


def decode_ndjson_line(number: int, line: bytes):
    """One NDJSON line as its JSON value, or an :class:`UnreadableEvent`; None for a blank line."""
    text = line.strip()
    if not text:
        return None
    try:
        return json.loads(text.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:
        return UnreadableEvent(number, _shown(error, 200))


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON value")
