"""Audited writes about policy versions, acceptances and consents.

Every function validates first and writes nothing when it refuses; each write names the acting
staff member and why, in one transaction with the change.
"""

import bisect
import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shipex_privacy.audit.events import AuditEvent, SystemActor
from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.models import PersonalDataField, Purpose
from shipex_privacy.subjects.models import DataSubject, normalise_account_id

from . import figures
from .models import (
    WRITTEN_OR_ELECTRONIC_CHANNELS,
    Channel,
    Consent,
    ConsentEvent,
    CookieCategory,
    CookieConsentEvent,
    PolicyAcceptance,
    PolicyVersion,
)


@transaction.atomic
def policy_publish(*, version: PolicyVersion, actor) -> PolicyVersion:
    """Publish a draft version; from then on the database refuses any change to it."""
    version = PolicyVersion.objects.select_for_update().get(pk=version.pk)
    if version.is_published:
        raise ValidationError(_("Version %(version)s is already published.") % {"version": version.version})
    missing = [language for language in ("uz", "ru", "en") if not getattr(version, f"text_{language}").strip()]
    if missing:
        raise ValidationError(
            _("Version %(version)s has no text in: %(languages)s.") % {"version": version.version,
                                                                      "languages": ", ".join(missing)}
        )
    version.published_at = timezone.now()
    return record_save(instance=version, actor=actor,
                       event=AuditEvent.POLICY_PUBLISHED, reason=_("Published version %(version)s") % {
        "version": version.version})


def _published(version: PolicyVersion, at: datetime) -> None:
    if not version.is_published:
        raise ValidationError(_("Policy version %(version)s is not published.") % {"version": version.version},
                              code="policy_not_in_force")
    if version.effective_date > timezone.localdate(at):
        raise ValidationError(
            _("Policy version %(version)s was not yet in force on %(date)s.")
            % {"version": version.version, "date": f"{timezone.localtime(at):%d.%m.%Y}"}, code="policy_not_in_force"
        )


@transaction.atomic
def policy_accept(
    *, subject: DataSubject, version: PolicyVersion, accepted_at: datetime, channel: str, actor,
    ip_address: str | None = None, user_agent: str = "",
) -> PolicyAcceptance:
    _published(version, accepted_at)
    # Two acceptances of one version at once would both pass the unique check and the second hit
    # acceptance_once_per_version: with the subject locked, the second is refused cleanly instead.
    _lock_subject(subject.pk)
    if PolicyAcceptance.objects.filter(subject=subject, version=version).exists():
        raise ValidationError(_("The subject has already accepted policy version %(version)s.") % {
            "version": version.version}, code="already_accepted")
    acceptance = PolicyAcceptance(
        subject=subject, version=version, accepted_at=accepted_at, channel=channel,
        ip_address=ip_address, user_agent=user_agent,
    )
    return record_save(instance=acceptance, actor=actor,
                       event=AuditEvent.POLICY_ACCEPTED, reason=_("Policy %(version)s accepted via %(channel)s") % {
        "version": version.version, "channel": channel})


@dataclass(frozen=True)
class Evidence:
    """How a grant or withdrawal reached ShipEx."""

    channel: str
    ip_address: str | None = None
    user_agent: str = ""
    reference: str = ""


@dataclass(frozen=True)
class ConsentDocument:
    """What the consent document covered (Ministry of Justice model procedure no. 3478).

    ``covered_data`` empty means the data the catalogue lists for the purpose; the operator left
    empty is the one in settings (``SHIPEX_OPERATOR_NAME``, ``SHIPEX_OPERATOR_TIN``).
    """

    covered_data: list[str] = field(default_factory=list)
    allows_third_party_transfer: bool = False
    allows_cross_border_transfer: bool = False
    allows_publication: bool = False
    operator_name: str = ""
    operator_tin: str = ""


@dataclass
class CatalogueView:
    """What the grant rules read of the catalogue: each code's sensitivity, each purpose's codes.

    Two queries for any number of grants (a batch reads it once)."""

    sensitivity: dict[str, str] = field(default_factory=dict)
    by_purpose: dict[int, list[str]] = field(default_factory=dict)

    @classmethod
    def read(cls, *, purpose_ids, codes) -> "CatalogueView":
        view = cls(by_purpose={purpose_id: [] for purpose_id in purpose_ids})
        if purpose_ids:
            through = PersonalDataField.purposes.through.objects.filter(purpose_id__in=set(purpose_ids))
            for purpose_id, code, sensitivity in through.values_list(
                    "purpose_id", "personaldatafield__code", "personaldatafield__sensitivity").order_by(
                    "personaldatafield__code"):
                view.by_purpose[purpose_id].append(code)
                view.sensitivity[code] = sensitivity
        codes = set(codes) - set(view.sensitivity)
        if codes:
            view.sensitivity.update(PersonalDataField.objects.filter(code__in=codes).values_list("code", "sensitivity"))
        return view

    def covered(self, purpose: Purpose, document: ConsentDocument) -> list[str]:
        """The catalogue codes a grant covers: those the document names, else the purpose's."""
        return list(document.covered_data) if document.covered_data else list(self.by_purpose.get(purpose.pk, []))


def operator() -> tuple[str, str]:
    """The operator's name and TIN as settings give them (checked by consents.E001)."""
    return settings.SHIPEX_OPERATOR_NAME, settings.SHIPEX_OPERATOR_TIN


# No ShipEx record is older than this, and no term runs past LATEST_MOMENT: outside them a date is a
# typing error, and near year 1 or 9999 it cannot even be converted between Tashkent time and UTC.
EARLIEST_MOMENT = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_MOMENT = datetime(2100, 1, 1, tzinfo=UTC)


def _refuse_out_of_range(moment: datetime | None) -> None:
    if moment is not None and not EARLIEST_MOMENT <= moment < LATEST_MOMENT:
        raise ValidationError(_("%(moment)s is not a plausible date; dates from 2000 to 2099 are accepted.") % {
            "moment": moment.date().isoformat()}, code="implausible_date")


def _lock_subject(subject_id: int) -> DataSubject:
    """Lock the subject's row: the one lock every consent write of a subject takes first.

    A first grant has no consent row to lock yet, so two at once would both insert one and the
    second would hit ``consent_one_state_per_scope``; with the subject locked, the second waits,
    then sees the first's grant and is told it is already in force. An erasure (which withdraws
    consents) takes the same lock first, so a grant or a cookie choice never slips in beside it.
    """
    return DataSubject.objects.select_for_update().get(pk=subject_id)


# --- The consent ledger's rules ---------------------------------------------------------------------
#
# Events reach the ledger late (an app offline for a day, a paper form scanned a week later), so an
# event lands at its own moment in the ledger, never at its end:
#
# * The state at a moment t is the ledger's latest event at or before t (an event recorded later wins
#   a tie), as ConsentQuerySet.in_force_at reads it; in force = that event is a grant whose term has
#   not ended at t.
# * A grant at t is refused (code "no_change") when the consent is already in force at t; a withdrawal
#   at t when it is not in force at t. Only the moment itself is asked: a later event that the new one
#   makes redundant stays where it is, as it happened.
# * A lapse records that a grant's term ended: it lands at the term's end t, and only where the latest
#   event at or before t is that grant (else "no_change": lapsed already, withdrawn, granted again).
#   The ledger's reading does not need it (a grant's term ends the grant's interval anyway); it is the
#   record, with its reason, that the consent ended and why, and it moves the state to "lapsed".
# * The Consent row is the summary of the ledger: its state from the latest event, withdrawn_at from
#   it when that is a withdrawal, granted_at, expires_at and channel from the latest grant. An older
#   event that lands behind a newer one changes nothing there, so it writes no Consent history row;
#   the ledger row (append-only, digested, naming who recorded it) is its record.
#
# verify_audit's consent check (integrity.py) holds the row to exactly this summary.

NO_CHANGE = "no_change"


def _ledger_order(event: ConsentEvent):
    return event.occurred_at


def ledger_of(consent: Consent) -> list[ConsentEvent]:
    """A consent's ledger events in ledger order (moment, then the order they were recorded)."""
    if consent.pk is None:
        return []
    return list(consent.events.order_by("occurred_at", "id"))


def ledger_place(events: list[ConsentEvent], at: datetime) -> int:
    """Where an event at ``at`` lands in ``events`` (in ledger order): after every event at or before it."""
    return bisect.bisect_right(events, at, key=_ledger_order)


def ledger_in_force(events: list[ConsentEvent], at: datetime) -> bool:
    """Whether the ledger ``events`` (in ledger order) put the consent in force at ``at``."""
    place = ledger_place(events, at)
    if place == 0:
        return False
    latest = events[place - 1]
    return latest.kind == ConsentEvent.Kind.GRANT and (latest.expires_at is None or latest.expires_at > at)


def ledger_refusal(events: list[ConsentEvent], kind: str, at: datetime, purpose: Purpose) -> ValidationError | None:
    """Why an event of ``kind`` at ``at`` cannot join the ledger ``events``, or None: see the rules above."""
    in_force = ledger_in_force(events, at)

    def when() -> str:  # only for a refusal: a batch asks this of every event it applies
        return f"{timezone.localtime(at):%d.%m.%Y %H:%M}"

    if kind == ConsentEvent.Kind.GRANT and in_force:
        return ValidationError(
            _("Consent to %(clause)s is already in force on %(date)s; withdraw it before granting it again.")
            % {"clause": purpose.clause, "date": when()}, code=NO_CHANGE)
    if kind == ConsentEvent.Kind.WITHDRAW and not in_force:
        return ValidationError(
            _("Consent to %(clause)s is not in force on %(date)s; there is nothing to withdraw.")
            % {"clause": purpose.clause, "date": when()}, code=NO_CHANGE)
    if kind == ConsentEvent.Kind.LAPSE:
        place = ledger_place(events, at)
        latest = events[place - 1] if place else None
        if latest is None or latest.kind != ConsentEvent.Kind.GRANT or latest.expires_at != at:
            return ValidationError(
                _("No term of consent to %(clause)s ends on %(date)s; there is nothing to lapse.")
                % {"clause": purpose.clause, "date": when()}, code=NO_CHANGE)
    return None


STATE_AFTER = {
    ConsentEvent.Kind.GRANT: Consent.State.GRANTED,
    ConsentEvent.Kind.WITHDRAW: Consent.State.WITHDRAWN,
    ConsentEvent.Kind.LAPSE: Consent.State.LAPSED,
}


def ledger_summarise(consent: Consent, events: list[ConsentEvent]) -> bool:
    """Set ``consent``'s state columns to the summary of its ledger ``events``; whether any changed."""
    latest = events[-1]
    last_grant = next(event for event in reversed(events) if event.kind == ConsentEvent.Kind.GRANT)
    summary = {
        "state": STATE_AFTER[latest.kind],
        "withdrawn_at": latest.occurred_at if latest.kind == ConsentEvent.Kind.WITHDRAW else None,
        "granted_at": last_grant.occurred_at, "expires_at": last_grant.expires_at, "channel": last_grant.channel,
    }
    changed = False
    for column, value in summary.items():
        if getattr(consent, column) != value:
            setattr(consent, column, value)
            changed = True
    return changed


def refuse_unplausible_moment(occurred_at: datetime, what: str = "consent") -> None:
    _refuse_out_of_range(occurred_at)
    if occurred_at > timezone.now():
        message = (_("A cookie choice cannot be recorded for a moment in the future.") if what == "cookie"
                   else _("A consent event cannot be recorded for a moment in the future."))
        raise ValidationError(message, code="in_future")


def consent_event(consent: Consent, kind: str, occurred_at: datetime, evidence: Evidence, actor,
                  **values) -> ConsentEvent:
    """A ledger event, not yet saved."""
    return ConsentEvent(
        consent=consent, kind=kind, occurred_at=occurred_at, channel=evidence.channel,
        ip_address=evidence.ip_address, user_agent=evidence.user_agent, evidence_reference=evidence.reference,
        recorded_by_id=getattr(actor, "pk", None), recorded_by_username=actor.get_username() if actor else "",
        **values,
    )


def grant_values(*, subject: DataSubject, policy_version: PolicyVersion, expires_at: datetime | None,
                 document: ConsentDocument, covered_data: list[str]) -> dict:
    """The ledger columns of a grant beyond the moment and evidence: what the document covered.

    ``covered_data`` is what :func:`refuse_grant` answered: kept on the event as it was that day,
    whatever the catalogue says later.
    """
    name, tin = operator()
    return {
        "policy_version": policy_version, "expires_at": expires_at, "subject_name": subject.full_name,
        "covered_data": covered_data, "operator_name": document.operator_name or name,
        "operator_tin": document.operator_tin or tin,
        "allows_third_party_transfer": document.allows_third_party_transfer,
        "allows_cross_border_transfer": document.allows_cross_border_transfer,
        "allows_publication": document.allows_publication,
    }


def refuse_grant(*, subject: DataSubject, purpose: Purpose, recipient_kind: str, occurred_at: datetime,
                 policy_version: PolicyVersion, expires_at: datetime | None, channel: str,
                 document: ConsentDocument, catalogue: CatalogueView | None = None) -> list[str]:
    """The checks of a grant that do not need the ledger; raises ValidationError with a code.

    Answers the catalogue codes the grant covers. ``catalogue`` is the catalogue as the caller has
    read it already (a batch), else it is read here.
    """
    refuse_unplausible_moment(occurred_at)
    _refuse_out_of_range(expires_at)
    if not purpose.requires_consent and not recipient_kind:
        raise ValidationError(
            _("Purpose %(clause)s does not rest on consent; there is nothing to grant.") % {"clause": purpose.clause},
            code="not_consent_based")
    if subject.is_erased:
        raise ValidationError(_("The subject's account is closed or anonymised."), code="erased")
    _published(policy_version, occurred_at)
    if expires_at is not None and expires_at <= occurred_at:
        raise ValidationError(_("The consent's term must end after it is granted."), code="term_before_grant")
    if catalogue is None:
        catalogue = CatalogueView.read(purpose_ids=[purpose.pk], codes=document.covered_data)
    covered = catalogue.covered(purpose, document)
    unknown = sorted(set(covered) - set(catalogue.sensitivity))
    if unknown:
        raise ValidationError(_("Unknown catalogue codes: %(codes)s.") % {"codes": ", ".join(unknown)},
                              code="unknown_catalogue_code")
    sensitive = [code for code in covered if catalogue.sensitivity[code] != PersonalDataField.Sensitivity.GENERAL]
    if sensitive and channel not in WRITTEN_OR_ELECTRONIC_CHANNELS:
        raise ValidationError(
            _("Consent to special or biometric data (%(codes)s) must be written or electronic (the app, the "
              "website or a signed form at the office); the channel “%(channel)s” is neither.")
            % {"codes": ", ".join(sensitive), "channel": Channel(channel).label if channel in Channel.values
               else channel}, code="channel_not_written")
    return covered


@transaction.atomic
def consent_grant(
    *, subject: DataSubject, purpose: Purpose, occurred_at: datetime, evidence: Evidence,
    policy_version: PolicyVersion, actor, recipient_kind: str = "", expires_at: datetime | None = None,
    document: ConsentDocument | None = None,
) -> ConsentEvent:
    """Record that the subject consented: in force from ``occurred_at`` until withdrawn or ``expires_at``.

    A grant older than the consent's latest event lands in its place in the ledger (rules above).
    """
    document = document or ConsentDocument()
    _refuse_out_of_range(occurred_at)
    _refuse_out_of_range(expires_at)
    subject = _lock_subject(subject.pk)
    covered = refuse_grant(subject=subject, purpose=purpose, recipient_kind=recipient_kind, occurred_at=occurred_at,
                           policy_version=policy_version, expires_at=expires_at, channel=evidence.channel,
                           document=document)
    consent = Consent.objects.select_for_update().filter(
        subject=subject, purpose=purpose, recipient_kind=recipient_kind
    ).first() or Consent(subject=subject, purpose=purpose, recipient_kind=recipient_kind)
    events = ledger_of(consent)
    if refusal := ledger_refusal(events, ConsentEvent.Kind.GRANT, occurred_at, purpose):
        raise refusal
    before = list(events)
    event = consent_event(consent, ConsentEvent.Kind.GRANT, occurred_at, evidence, actor, **grant_values(
        subject=subject, policy_version=policy_version, expires_at=expires_at, document=document,
        covered_data=covered))
    events.insert(ledger_place(events, occurred_at), event)
    if ledger_summarise(consent, events) or consent.pk is None:
        record_save(instance=consent, actor=actor,
                    event=AuditEvent.CONSENT_GRANTED, reason=_("Consent granted via %(channel)s") % {
            "channel": evidence.channel})
    return _save_event(event, consent, before, events)


@transaction.atomic
def consent_withdraw(
    *, consent: Consent, occurred_at: datetime, evidence: Evidence, actor, note: str = ""
) -> ConsentEvent:
    """Record that the subject withdrew a consent in force; processing on it stops from ``occurred_at``.

    A withdrawal older than the consent's latest event lands in its place in the ledger (rules above).
    """
    _lock_subject(consent.subject_id)
    consent = Consent.objects.select_for_update().select_related("purpose").get(pk=consent.pk)
    refuse_unplausible_moment(occurred_at)
    events = ledger_of(consent)
    if refusal := ledger_refusal(events, ConsentEvent.Kind.WITHDRAW, occurred_at, consent.purpose):
        raise refusal
    event = consent_event(consent, ConsentEvent.Kind.WITHDRAW, occurred_at, evidence, actor, note=note)
    before = list(events)
    events.insert(ledger_place(events, occurred_at), event)
    if ledger_summarise(consent, events):
        record_save(instance=consent, actor=actor,
                    event=AuditEvent.CONSENT_WITHDRAWN, reason=note or _("Consent withdrawn via %(channel)s") % {
            "channel": evidence.channel})
    return _save_event(event, consent, before, events)


LAPSE_ACTOR = SystemActor("lapse_consents")
LAPSE_BATCH = 500


def lapse_reason(consent: Consent) -> str:
    """Why a consent lapsed, for its ledger event and history: the term and when it ended."""
    last_day = ConsentEvent(expires_at=consent.expires_at).term_last_day
    if last_day is not None:
        return _("The term of consent to %(clause)s ended on %(date)s; it lapsed the day after.") % {
            "clause": consent.purpose.clause, "date": f"{last_day:%d.%m.%Y}"}
    return _("The term of consent to %(clause)s ended at %(moment)s.") % {
        "clause": consent.purpose.clause, "moment": f"{timezone.localtime(consent.expires_at):%d.%m.%Y %H:%M}"}


def consents_lapse_due(*, now: datetime | None = None, batch_size: int = LAPSE_BATCH) -> int:
    """Record a lapse for every consent whose term has ended by ``now``; how many lapsed.

    Idempotent: a lapsed consent is no longer due, and the ledger refuses a second lapse. Each batch
    is one transaction through the consents' bulk path (intake.py): the subjects locked in id order,
    the ledger rows, the Consent rows with their history, trail entries and digests in bulk statements.
    """
    from . import intake  # intake builds on this module's rules

    # Never ahead of the clock: the ledger holds no future event, so a term not yet over stays in force.
    now = min(now or timezone.now(), timezone.now())
    lapsed, after = 0, 0
    while True:
        with transaction.atomic():
            due = list(Consent.objects.filter(state=Consent.State.GRANTED, expires_at__lte=now, pk__gt=after)
                       .order_by("pk").values_list("pk", "subject_id")[:batch_size])
            if not due:
                return lapsed
            after = due[-1][0]
            subjects = intake.lock_subjects_by_id(subject_ids={subject_id for _pk, subject_id in due})
            # Read again under the locks: a withdrawal or a new grant may have come in meanwhile.
            consents = Consent.objects.filter(pk__in=[pk for pk, _subject in due], state=Consent.State.GRANTED,
                                              expires_at__lte=now).select_related("purpose").order_by("pk")
            items = [intake.Lapse(key=consent.pk, subject=subjects[consent.subject_id], purpose=consent.purpose,
                                  recipient_kind=consent.recipient_kind, occurred_at=consent.expires_at,
                                  reason=lapse_reason(consent)) for consent in consents]
            result = intake.intake_apply(items=items, actor=LAPSE_ACTOR)
            lapsed += len(items) - len(result.refused)


def _save_event(event: ConsentEvent, consent: Consent, before: list, after: list) -> ConsentEvent:
    """Save the ledger row, and the report's figures' changes it causes (figures.py) with it."""
    event.consent = event.consent  # the consent may have got its id after the event was built
    event.full_clean()
    event.save()
    figures.record_changes([(consent, before, after)])
    return event


def cookie_consent_state(*, category: str, subject: DataSubject | None = None, visitor_id: str = "",
                         at: datetime | None = None) -> bool:
    """Whether cookies of ``category`` were allowed at ``at`` (now by default): the latest choice wins."""
    if category == CookieCategory.STRICTLY_NECESSARY:
        return True
    events = CookieConsentEvent.objects.filter(category=category, occurred_at__lte=at or timezone.now())
    events = events.filter(subject=subject) if subject else events.filter(visitor_id=visitor_id, subject=None)
    latest = events.order_by("-occurred_at", "-id").values_list("kind", flat=True).first()
    return latest == CookieConsentEvent.Kind.GRANT


@transaction.atomic
def cookie_consent_record(
    *, category: str, kind: str, occurred_at: datetime, evidence: Evidence,
    subject: DataSubject | None = None, visitor_id: str = "",
) -> CookieConsentEvent:
    """Record a visitor's or subject's choice about a cookie category (1.6.2)."""
    if subject is not None:
        subject = _lock_subject(subject.pk)
        if subject.is_erased:
            raise ValidationError(_("The subject's account is closed or anonymised."), code="erased")
    refuse_unplausible_moment(occurred_at, "cookie")
    event = CookieConsentEvent(
        subject=subject, visitor_id=visitor_id, category=category, kind=kind, occurred_at=occurred_at,
        channel=evidence.channel, ip_address=evidence.ip_address, user_agent=evidence.user_agent,
    )
    event.full_clean()
    event.save()
    return event



# --- Import of consents exported by the ShipEx app -------------------------------------------------
#
# A file is all-or-nothing: every row is checked against the same rules as a grant or withdrawal
# recorded by hand, in order; if any row is refused, the report lists every refused row and nothing
# from the file is recorded. Half a file would leave the ledger out of step with the app. A file that
# cannot be read as CSV is refused the same way, with the line where reading stopped.

IMPORT_COLUMNS = (
    "account_id", "purpose", "action", "occurred_at", "channel", "policy_version",
    "expires_at", "recipient_kind", "ip_address", "user_agent", "evidence_reference",
)
REQUIRED_COLUMNS = ("account_id", "purpose", "action", "occurred_at", "channel")
MAX_IMPORT_ROWS = 50_000
MAX_IMPORT_BYTES = 10 * 1024 * 1024


@dataclass
class ImportReport:
    rows: int = 0
    granted: int = 0
    withdrawn: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def recorded(self) -> bool:
        return not self.errors and self.rows > 0

    @property
    def file_refused(self) -> bool:
        """Refused before any row was read (empty, a bad header, no rows): the file, not its rows, is wrong."""
        return bool(self.errors) and self.rows == 0


class _FileRefused(Exception):
    """Raised inside the import transaction to roll the whole file back."""


def _lines(text: str) -> list[str]:
    # Only where the csv module ends a line (\n, \r\n, \r); str.splitlines() would also cut at
    # \x1c, \x85 or \u2028 inside a value, and drop the line break of a quoted multi-line value.
    return io.StringIO(text, newline="").readlines()


def import_file_lines(data: bytes) -> list[str]:
    """The lines of an import file as uploaded or read from disk; refuses what is not UTF-8 text.

    The web form and the command both read a file through this, so they refuse the same files.
    """
    if len(data) > MAX_IMPORT_BYTES:
        raise ValidationError(_("The file is larger than 10 MB; split it."))
    try:
        return _lines(data.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        line = len(_lines(data[:error.start].decode("utf-8-sig") + "x"))
        raise ValidationError(
            _("Line %(line)s is not UTF-8 text. Save the file as UTF-8 (in Excel: CSV UTF-8) and import it again.")
            % {"line": line}
        ) from None


class _Unreadable(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line, self.message = line, message


def _csv_records(lines):
    """Yield (line number where the record starts, its values); blank lines are skipped.

    ``strict`` makes a stray or unclosed double quote an error instead of a silently merged value.
    """
    reader = csv.reader(lines, strict=True)
    while True:
        start = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            reason = str(error)
            if "field limit" in reason:
                message = _("A value is longer than %(max)s characters.") % {"max": csv.field_size_limit()}
            elif "unexpected end of data" in reason:
                message = _("A double quote opened here is never closed.")
            else:
                message = _("This is not valid CSV (%(reason)s). A value with a comma, a double quote or a line "
                            "break must be in double quotes, each double quote inside it doubled.") % {
                    "reason": reason}
            raise _Unreadable(start, message) from None
        if values:
            yield start, values


def _check_header(header: list[str]) -> list[str]:
    problems = []
    duplicates = sorted({column for column in header if header.count(column) > 1})
    if duplicates:
        problems.append(_("Columns named more than once: %(columns)s.") % {"columns": ", ".join(duplicates)})
    unknown = sorted(set(header) - set(IMPORT_COLUMNS))
    absent = [column for column in REQUIRED_COLUMNS if column not in header]
    if absent or unknown:
        problems.append(_("Columns missing: %(absent)s; not understood: %(unknown)s. Expected: %(expected)s.")
                        % {"absent": ", ".join(absent) or "—", "unknown": ", ".join(unknown) or "—",
                           "expected": ", ".join(IMPORT_COLUMNS)})
    return problems


def _parse_moment(value: str, column: str) -> datetime | None:
    from django.utils.dateparse import parse_datetime

    if not value:
        return None
    try:
        moment = parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None:
        raise ValidationError(
            _("%(column)s “%(value)s” is not a date and time; use for example 2026-11-25T14:30:00+05:00.")
            % {"column": column, "value": value}
        )
    moment = moment if timezone.is_aware(moment) else timezone.make_aware(moment)
    _refuse_out_of_range(moment)
    return moment


def _import_row(row: dict[str, str], actor) -> str:
    """Record one row; return "grant" or "withdraw", or raise ValidationError saying what is wrong."""
    missing = [column for column in REQUIRED_COLUMNS if not row.get(column, "").strip()]
    if missing:
        raise ValidationError(_("Empty: %(columns)s.") % {"columns": ", ".join(missing)})
    if any("\x00" in value for value in row.values()):
        # PostgreSQL cannot store (or even compare) text with a NUL character in it.
        raise ValidationError(_("A value contains a NUL character (a zero byte); the file is damaged."))
    account_id = normalise_account_id(row["account_id"])  # a malformed id is refused saying what is wrong
    subject = DataSubject.objects.with_account_id(account_id).first()
    if subject is None:
        raise ValidationError(_("No subject with account id %(id)s.") % {"id": account_id})
    purpose = Purpose.objects.filter(clause=row["purpose"].strip()).first()
    if purpose is None:
        raise ValidationError(_("No purpose %(clause)s.") % {"clause": row["purpose"].strip()})
    channel = row["channel"].strip()
    if channel not in Channel.values:
        raise ValidationError(_("Unknown channel “%(channel)s”; use one of %(choices)s.") % {
            "channel": channel, "choices": ", ".join(Channel.values)})
    recipient_kind = row.get("recipient_kind", "").strip()
    occurred_at = _parse_moment(row["occurred_at"].strip(), "occurred_at")
    evidence = Evidence(
        channel=channel, ip_address=row.get("ip_address", "").strip() or None,
        user_agent=row.get("user_agent", "").strip()[:400], reference=row.get("evidence_reference", "").strip(),
    )
    action = row["action"].strip().lower()
    if action == "grant":
        label = row.get("policy_version", "").strip()
        version = PolicyVersion.objects.filter(version=label).first()
        if version is None:
            raise ValidationError(_("Unknown policy version “%(version)s”.") % {"version": label})
        consent_grant(
            subject=subject, purpose=purpose, occurred_at=occurred_at, evidence=evidence, policy_version=version,
            actor=actor, recipient_kind=recipient_kind,
            expires_at=_parse_moment(row.get("expires_at", "").strip(), "expires_at"),
        )
    elif action == "withdraw":
        consent = Consent.objects.filter(subject=subject, purpose=purpose, recipient_kind=recipient_kind).first()
        if consent is None:
            raise ValidationError(_("The subject never consented to %(clause)s; there is nothing to withdraw.") % {
                "clause": purpose.clause})
        consent_withdraw(consent=consent, occurred_at=occurred_at, evidence=evidence, actor=actor,
                         note=_("Imported from the ShipEx app"))
    else:
        raise ValidationError(_("Unknown action “%(action)s”; use grant or withdraw.") % {"action": action})
    return action


def consent_import(*, lines, actor) -> ImportReport:
    """Import a CSV of grants and withdrawals (header row first); all rows or none.

    ``lines`` are the file's lines with their line breaks (``import_file_lines``). Whatever they
    hold, the answer is a report: refused rows by line number, and then nothing recorded.
    """
    report = ImportReport()
    records = _csv_records(lines)
    try:
        header_line, header = next(records, (1, None))
    except _Unreadable as error:
        report.errors.append((error.line, error.message))
        return report
    if header is None:
        report.errors.append((1, _("The file is empty.")))
        return report
    header = [column.strip() for column in header]
    if problems := _check_header(header):
        report.errors.extend((header_line, problem) for problem in problems)
        return report
    try:
        with transaction.atomic():
            _import_records(records, header, actor, report)
            if not report.rows and not report.errors:
                report.errors.append((header_line, _("The file has no rows below its header.")))
            if report.errors:
                raise _FileRefused
    except _FileRefused:
        report.granted = report.withdrawn = 0
    return report


def _import_records(records, header: list[str], actor, report: ImportReport) -> None:
    try:
        for number, values in records:
            report.rows += 1
            if report.rows > MAX_IMPORT_ROWS:
                report.errors.append((number, _("More than %(max)s rows; split the file.") % {"max": MAX_IMPORT_ROWS}))
                return
            if len(values) != len(header):
                report.errors.append((number, _(
                    "%(found)s values where the header has %(expected)s columns. A value with a comma in it "
                    "must be in double quotes.") % {"found": len(values), "expected": len(header)}))
                continue
            try:
                with transaction.atomic():
                    action = _import_row(dict(zip(header, values, strict=True)), actor)
            except ValidationError as error:
                report.errors.append((number, " ".join(error.messages)))
                continue
            if action == "grant":
                report.granted += 1
            else:
                report.withdrawn += 1
    except _Unreadable as error:
        # The reader cannot find where the next record starts: the rest of the file is not read.
        report.errors.append((error.line, error.message))
