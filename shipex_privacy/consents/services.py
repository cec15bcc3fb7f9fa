"""Audited writes about policy versions, acceptances and consents.

Every function validates first and writes nothing when it refuses; each write names the acting
staff member and why, in one transaction with the change.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.models import PersonalDataField, Purpose
from shipex_privacy.subjects.models import DataSubject

from .models import Channel, Consent, ConsentEvent, CookieCategory, CookieConsentEvent, PolicyAcceptance, PolicyVersion

SHIPEX_OPERATOR = "ShipEx"


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
    return record_save(instance=version, actor=actor, reason=_("Published version %(version)s") % {
        "version": version.version})


def _published(version: PolicyVersion, at: datetime) -> None:
    if not version.is_published:
        raise ValidationError(_("Policy version %(version)s is not published.") % {"version": version.version})
    if version.effective_date > timezone.localdate(at):
        raise ValidationError(
            _("Policy version %(version)s was not yet in force on %(date)s.")
            % {"version": version.version, "date": f"{timezone.localtime(at):%d.%m.%Y}"}
        )


@transaction.atomic
def policy_accept(
    *, subject: DataSubject, version: PolicyVersion, accepted_at: datetime, channel: str, actor,
    ip_address: str | None = None, user_agent: str = "",
) -> PolicyAcceptance:
    _published(version, accepted_at)
    acceptance = PolicyAcceptance(
        subject=subject, version=version, accepted_at=accepted_at, channel=channel,
        ip_address=ip_address, user_agent=user_agent,
    )
    return record_save(instance=acceptance, actor=actor, reason=_("Policy %(version)s accepted via %(channel)s") % {
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
    """What the consent document covered, as Uzbek practice requires."""

    covered_data: list[str] = field(default_factory=list)
    allows_third_party_transfer: bool = False
    allows_cross_border_transfer: bool = False
    allows_publication: bool = False
    operator_name: str = SHIPEX_OPERATOR
    operator_tin: str = ""


def _event(consent: Consent, kind: str, occurred_at: datetime, evidence: Evidence, actor, **values) -> ConsentEvent:
    event = ConsentEvent(
        consent=consent, kind=kind, occurred_at=occurred_at, channel=evidence.channel,
        ip_address=evidence.ip_address, user_agent=evidence.user_agent, evidence_reference=evidence.reference,
        recorded_by_id=getattr(actor, "pk", None), recorded_by_username=actor.get_username() if actor else "",
        **values,
    )
    event.full_clean()
    event.save()
    return event


def _refuse_out_of_order(consent: Consent, occurred_at: datetime) -> None:
    if occurred_at > timezone.now():
        raise ValidationError(_("A consent event cannot be recorded for a moment in the future."))
    if consent.pk and consent.events.filter(occurred_at__gt=occurred_at).exists():
        raise ValidationError(_("A later event is already recorded for this consent; events are recorded in order."))


@transaction.atomic
def consent_grant(
    *, subject: DataSubject, purpose: Purpose, occurred_at: datetime, evidence: Evidence,
    policy_version: PolicyVersion, actor, recipient_kind: str = "", expires_at: datetime | None = None,
    document: ConsentDocument | None = None,
) -> ConsentEvent:
    """Record that the subject consented: in force from ``occurred_at`` until withdrawn or ``expires_at``."""
    document = document or ConsentDocument()
    if not purpose.requires_consent and not recipient_kind:
        raise ValidationError(
            _("Purpose %(clause)s does not rest on consent; there is nothing to grant.") % {"clause": purpose.clause}
        )
    if subject.is_erased:
        raise ValidationError(_("The subject's account is closed or anonymised."))
    _published(policy_version, occurred_at)
    unknown = sorted(set(document.covered_data) - set(PersonalDataField.objects.values_list("code", flat=True)))
    if unknown:
        raise ValidationError(_("Unknown catalogue codes: %(codes)s.") % {"codes": ", ".join(unknown)})
    consent = Consent.objects.select_for_update().filter(
        subject=subject, purpose=purpose, recipient_kind=recipient_kind
    ).first() or Consent(subject=subject, purpose=purpose, recipient_kind=recipient_kind)
    _refuse_out_of_order(consent, occurred_at)
    if consent.pk and consent.is_in_force(occurred_at):
        raise ValidationError(_("This consent is already in force; withdraw it before granting it again."))

    consent.state, consent.channel = Consent.State.GRANTED, evidence.channel
    consent.granted_at, consent.expires_at, consent.withdrawn_at = occurred_at, expires_at, None
    record_save(instance=consent, actor=actor, reason=_("Consent granted via %(channel)s") % {
        "channel": evidence.channel})
    return _event(
        consent, ConsentEvent.Kind.GRANT, occurred_at, evidence, actor,
        policy_version=policy_version, expires_at=expires_at, subject_name=subject.full_name,
        covered_data=document.covered_data, operator_name=document.operator_name, operator_tin=document.operator_tin,
        allows_third_party_transfer=document.allows_third_party_transfer,
        allows_cross_border_transfer=document.allows_cross_border_transfer,
        allows_publication=document.allows_publication,
    )


@transaction.atomic
def consent_withdraw(
    *, consent: Consent, occurred_at: datetime, evidence: Evidence, actor, note: str = ""
) -> ConsentEvent:
    """Record that the subject withdrew a consent in force; processing on it stops from ``occurred_at``."""
    consent = Consent.objects.select_for_update().get(pk=consent.pk)
    _refuse_out_of_order(consent, occurred_at)
    if not consent.is_in_force(occurred_at):
        raise ValidationError(
            _("Consent to %(clause)s is not in force on %(date)s; there is nothing to withdraw.")
            % {"clause": consent.purpose.clause, "date": f"{timezone.localtime(occurred_at):%d.%m.%Y %H:%M}"}
        )
    consent.state, consent.withdrawn_at = Consent.State.WITHDRAWN, occurred_at
    record_save(instance=consent, actor=actor, reason=note or _("Consent withdrawn via %(channel)s") % {
        "channel": evidence.channel})
    return _event(consent, ConsentEvent.Kind.WITHDRAW, occurred_at, evidence, actor, note=note)


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
    if occurred_at > timezone.now():
        raise ValidationError(_("A cookie choice cannot be recorded for a moment in the future."))
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
# from the file is recorded. Half a file would leave the ledger out of step with the app.

IMPORT_COLUMNS = (
    "account_id", "purpose", "action", "occurred_at", "channel", "policy_version",
    "expires_at", "recipient_kind", "ip_address", "user_agent", "evidence_reference",
)
REQUIRED_COLUMNS = ("account_id", "purpose", "action", "occurred_at", "channel")
MAX_IMPORT_ROWS = 50_000


@dataclass
class ImportReport:
    rows: int = 0
    granted: int = 0
    withdrawn: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def recorded(self) -> bool:
        return not self.errors and self.rows > 0


class _FileRefused(Exception):
    """Raised inside the import transaction to roll the whole file back."""


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
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def _import_row(row: dict[str, str], actor) -> str:
    """Record one row; return "grant" or "withdraw", or raise ValidationError saying what is wrong."""
    missing = [column for column in REQUIRED_COLUMNS if not row.get(column, "").strip()]
    if missing:
        raise ValidationError(_("Empty: %(columns)s.") % {"columns": ", ".join(missing)})
    account_id = row["account_id"].strip().upper()
    subject = DataSubject.objects.filter(account_id=account_id).first()
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
    """Import a CSV of grants and withdrawals (header row first); all rows or none."""
    import csv

    report = ImportReport()
    reader = csv.DictReader(lines)
    unknown = sorted(set(reader.fieldnames or ()) - set(IMPORT_COLUMNS))
    absent = [column for column in REQUIRED_COLUMNS if column not in (reader.fieldnames or ())]
    if absent or unknown:
        report.errors.append((1, _("Columns missing: %(absent)s; not understood: %(unknown)s. Expected: %(expected)s.")
                              % {"absent": ", ".join(absent) or "—", "unknown": ", ".join(unknown) or "—",
                                 "expected": ", ".join(IMPORT_COLUMNS)}))
        return report
    try:
        with transaction.atomic():
            for number, row in enumerate(reader, start=2):
                report.rows += 1
                if report.rows > MAX_IMPORT_ROWS:
                    report.errors.append((number, _("More than %(max)s rows; split the file.") % {
                        "max": MAX_IMPORT_ROWS}))
                    break
                try:
                    with transaction.atomic():
                        action = _import_row(row, actor)
                except ValidationError as error:
                    report.errors.append((number, " ".join(error.messages)))
                    continue
                if action == "grant":
                    report.granted += 1
                else:
                    report.withdrawn += 1
            if report.errors:
                raise _FileRefused
    except _FileRefused:
        report.granted = report.withdrawn = 0
    return report
