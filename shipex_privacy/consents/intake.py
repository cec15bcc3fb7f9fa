"""Many consent events at once (the API's events batch): decided in memory, then written in bulk.

A batch of grants, withdrawals, lapses (a term that ended), stops (a log-out withdraws every consent
in force), policy acceptances and cookie choices is applied in ``occurred_at`` order by the same rules as the
one-at-a-time services (services.py, "The consent ledger's rules"): each item is applied in full or
refused with a coded ValidationError, and one refused item does not stop the others. The reads are
a fixed number of queries whatever the batch's size; the writes go through the bulk audited path
(audit/bulk.py): the Consent rows with their history, trail entries and digests, the ledger rows and
cookie choices with their digests, the acceptances with their history.

The caller holds the locks: every subject of the batch, locked in one query in id order
(:func:`lock_subjects`), inside the caller's transaction — the same lock every consent write of a
subject takes first, so a batch and a grant in the admin never collide, and two batches never
deadlock.
"""

from collections import defaultdict, namedtuple
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from shipex_privacy.audit.bulk import BatchRefused, append_many, record_save_many
from shipex_privacy.audit.events import AuditEvent
from shipex_privacy.catalogue.models import Purpose
from shipex_privacy.subjects.models import DataSubject

from . import figures
from .models import Consent, ConsentEvent, CookieCategory, CookieConsentEvent, PolicyAcceptance, PolicyVersion
from .services import (
    NO_CHANGE,
    CatalogueView,
    ConsentDocument,
    Evidence,
    _published,
    consent_event,
    grant_values,
    ledger_in_force,
    ledger_place,
    ledger_refusal,
    ledger_summarise,
    refuse_grant,
    refuse_unplausible_moment,
)


@dataclass(eq=False)
class Grant:
    key: Hashable
    subject: DataSubject
    purpose: Purpose
    occurred_at: datetime
    evidence: Evidence
    policy_version: PolicyVersion
    reason: str
    recipient_kind: str = ""
    expires_at: datetime | None = None
    document: ConsentDocument = field(default_factory=ConsentDocument)


@dataclass(eq=False)
class Withdrawal:
    key: Hashable
    subject: DataSubject
    purpose: Purpose
    occurred_at: datetime
    evidence: Evidence
    reason: str
    recipient_kind: str = ""


@dataclass(eq=False)
class Lapse:
    """The consent's term ended at ``occurred_at`` (its ``expires_at``): recorded by consents_lapse_due."""

    key: Hashable
    subject: DataSubject
    purpose: Purpose
    occurred_at: datetime
    reason: str
    recipient_kind: str = ""


@dataclass(eq=False)
class Stop:
    """Every consent of the subject in force at ``occurred_at`` is withdrawn then (a log-out, 1.5.2)."""

    key: Hashable
    subject: DataSubject
    occurred_at: datetime
    evidence: Evidence
    reason: str


@dataclass(eq=False)
class Acceptance:
    key: Hashable
    subject: DataSubject
    version: PolicyVersion
    occurred_at: datetime
    evidence: Evidence
    reason: str


@dataclass(eq=False)
class CookieChoice:
    key: Hashable
    subject: DataSubject | None
    visitor_id: str
    category: str
    kind: str  # CookieConsentEvent.Kind
    occurred_at: datetime
    evidence: Evidence
    reason: str = ""


Item = Grant | Withdrawal | Lapse | Stop | Acceptance | CookieChoice

# A lapse came through no channel: nobody did anything, the term ended.
NO_EVIDENCE = Evidence(channel="")


@dataclass
class IntakeResult:
    refused: dict[Hashable, ValidationError] = field(default_factory=dict)
    withdrawn: dict[Hashable, int] = field(default_factory=dict)  # a Stop's key → consents it withdrew


def lock_subjects(*, account_ids: Iterable[str]) -> dict[str, DataSubject]:
    """Lock the subjects with these (normalised) account ids in one query, in id order; by account id."""
    subjects = DataSubject.objects.select_for_update().filter(account_id__in=set(account_ids)).order_by("pk")
    return {subject.account_id: subject for subject in subjects}


def lock_subjects_by_id(*, subject_ids: Iterable[int]) -> dict[int, DataSubject]:
    """Lock the subjects with these ids in one query, in id order; by id."""
    subjects = DataSubject.objects.select_for_update().filter(pk__in=set(subject_ids)).order_by("pk")
    return {subject.pk: subject for subject in subjects}


# --- the plan: what the batch writes, decided in memory ----------------------------------------------


@dataclass
class _Ledger:
    consent: Consent
    events: list[ConsentEvent]
    changes: list[tuple[dict, AuditEvent, str]] = field(default_factory=list)  # state after each change
    original: tuple = ()  # the ledger as read, before the batch's rows (for the report's figures)

    def __post_init__(self):
        self.original = tuple(self.events)


STATE_COLUMNS = ("state", "granted_at", "expires_at", "withdrawn_at", "channel")
_Entry = namedtuple("_Entry", "kind occurred_at expires_at channel")  # a ledger row already recorded


class _Plan:
    def __init__(self, items: Sequence[Item], actor, validate: bool):
        self.actor, self.validate = actor, validate
        self.result = IntakeResult()
        self.ledgers: dict[tuple, _Ledger] = {}
        self.by_subject: dict[int, list[_Ledger]] = defaultdict(list)
        # Each row with the key of the item it comes from, to name the item should the database refuse it.
        self.ledger_rows: list[tuple[ConsentEvent, Hashable]] = []
        self.cookie_rows: list[tuple[CookieConsentEvent, Hashable]] = []
        self.acceptances: list[tuple[PolicyAcceptance, str, Hashable]] = []
        self._read(items)

    def _read(self, items: Sequence[Item]) -> None:
        """Everything the rules need, in a fixed number of queries."""
        consent_subjects = {item.subject.pk for item in items if isinstance(item, Grant | Withdrawal | Lapse | Stop)}
        consents = list(Consent.objects.filter(subject_id__in=consent_subjects).order_by("pk")) \
            if consent_subjects else []
        events = defaultdict(list)
        if consents:
            # What the rules read of each ledger row, without building a model instance per row.
            rows = ConsentEvent.objects.filter(consent__in=consents).order_by("occurred_at", "id").values_list(
                "consent_id", "kind", "occurred_at", "expires_at", "channel")
            for consent_id, *entry in rows:
                events[consent_id].append(_Entry(*entry))
        for consent in consents:
            self._ledger_of(consent, events[consent.pk])
        grants = [item for item in items if isinstance(item, Grant)]
        self.catalogue = CatalogueView.read(purpose_ids={item.purpose.pk for item in grants},
                                            codes={code for item in grants for code in item.document.covered_data})
        accepting = [item for item in items if isinstance(item, Acceptance)]
        self.accepted = set(PolicyAcceptance.objects.filter(
            subject_id__in={item.subject.pk for item in accepting},
            version_id__in={item.version.pk for item in accepting}).values_list("subject_id", "version_id")) \
            if accepting else set()

    def _clean(self, row, exclude: tuple[str, ...]) -> None:
        # The keys were read by this batch (no query per row to check them); the check constraints are
        # the rules above, and the database holds them.
        if self.validate:
            row.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)

    def _ledger_of(self, consent: Consent, events: list[ConsentEvent]) -> _Ledger:
        return self._register(_Ledger(consent, events))

    def _register(self, ledger: _Ledger) -> _Ledger:
        consent = ledger.consent
        self.ledgers[(consent.subject_id, consent.purpose_id, consent.recipient_kind)] = ledger
        self.by_subject[consent.subject_id].append(ledger)
        return ledger

    def apply(self, item: Item) -> None:
        try:
            if item.subject is not None and item.subject.is_erased:
                raise ValidationError(_("The subject's account is closed or anonymised."), code="erased")
            handler = {Grant: self._grant, Withdrawal: self._withdraw, Lapse: self._lapse, Stop: self._stop,
                       Acceptance: self._accept, CookieChoice: self._cookie}[type(item)]
            handler(item)
        except ValidationError as error:
            self.result.refused[item.key] = error

    def _grant(self, item: Grant) -> None:
        covered = refuse_grant(
            subject=item.subject, purpose=item.purpose, recipient_kind=item.recipient_kind,
            occurred_at=item.occurred_at, policy_version=item.policy_version, expires_at=item.expires_at,
            channel=item.evidence.channel, document=item.document, catalogue=self.catalogue)
        ledger = self.ledgers.get((item.subject.pk, item.purpose.pk, item.recipient_kind))
        if ledger is None:
            consent = Consent(subject=item.subject, purpose=item.purpose, recipient_kind=item.recipient_kind)
            ledger = _Ledger(consent, [])  # joins the plan only once its grant is accepted below
        if refusal := ledger_refusal(ledger.events, ConsentEvent.Kind.GRANT, item.occurred_at, item.purpose):
            raise refusal
        row = consent_event(ledger.consent, ConsentEvent.Kind.GRANT, item.occurred_at, item.evidence, self.actor,
                            **grant_values(subject=item.subject, policy_version=item.policy_version,
                                           expires_at=item.expires_at, document=item.document, covered_data=covered))
        self._clean(row, exclude=("consent", "policy_version"))
        if ledger.consent.pk is None and not ledger.events:
            self._register(ledger)
        self._land(ledger, row, AuditEvent.CONSENT_GRANTED, item.reason, item.key)

    def _withdraw(self, item: Withdrawal) -> None:
        refuse_unplausible_moment(item.occurred_at)
        ledger = self.ledgers.get((item.subject.pk, item.purpose.pk, item.recipient_kind))
        if ledger is None:
            raise ValidationError(_("The subject never consented to %(clause)s; there is nothing to withdraw.") % {
                "clause": item.purpose.clause}, code=NO_CHANGE)
        if refusal := ledger_refusal(ledger.events, ConsentEvent.Kind.WITHDRAW, item.occurred_at, item.purpose):
            raise refusal
        self._withdraw_in(ledger, item.occurred_at, item.evidence, item.reason, item.key)

    def _withdraw_in(self, ledger: _Ledger, at: datetime, evidence: Evidence, reason: str, key: Hashable) -> None:
        row = consent_event(ledger.consent, ConsentEvent.Kind.WITHDRAW, at, evidence, self.actor, note=reason[:500])
        self._clean(row, exclude=("consent", "policy_version"))
        self._land(ledger, row, AuditEvent.CONSENT_WITHDRAWN, reason, key)

    def _lapse(self, item: Lapse) -> None:
        ledger = self.ledgers.get((item.subject.pk, item.purpose.pk, item.recipient_kind))
        if ledger is None:
            raise ValidationError(_("The subject never consented to %(clause)s; there is nothing to lapse.") % {
                "clause": item.purpose.clause}, code=NO_CHANGE)
        if refusal := ledger_refusal(ledger.events, ConsentEvent.Kind.LAPSE, item.occurred_at, item.purpose):
            raise refusal
        row = consent_event(ledger.consent, ConsentEvent.Kind.LAPSE, item.occurred_at, NO_EVIDENCE, self.actor,
                            note=item.reason[:500])
        self._clean(row, exclude=("consent", "policy_version"))
        self._land(ledger, row, AuditEvent.CONSENT_LAPSED, item.reason, item.key)

    def _stop(self, item: Stop) -> None:
        refuse_unplausible_moment(item.occurred_at)
        withdrawn = 0
        for ledger in list(self.by_subject.get(item.subject.pk, ())):
            if ledger_in_force(ledger.events, item.occurred_at):
                self._withdraw_in(ledger, item.occurred_at, item.evidence, item.reason, item.key)
                withdrawn += 1
        self.result.withdrawn[item.key] = withdrawn

    def _land(self, ledger: _Ledger, row: ConsentEvent, event: AuditEvent, reason: str, key: Hashable) -> None:
        """The row joins its ledger at its moment; the Consent row follows when the summary changes."""
        ledger.events.insert(ledger_place(ledger.events, row.occurred_at), row)
        if ledger_summarise(ledger.consent, ledger.events):
            self._clean(ledger.consent, exclude=("subject", "purpose"))
            ledger.changes.append(({column: getattr(ledger.consent, column) for column in STATE_COLUMNS},
                                   event, reason, key))
        self.ledger_rows.append((row, key))

    def _accept(self, item: Acceptance) -> None:
        refuse_unplausible_moment(item.occurred_at)
        _published(item.version, item.occurred_at)
        if (item.subject.pk, item.version.pk) in self.accepted:
            raise ValidationError(_("The subject has already accepted policy version %(version)s.") % {
                "version": item.version.version}, code="already_accepted")
        acceptance = PolicyAcceptance(
            subject=item.subject, version=item.version, accepted_at=item.occurred_at, channel=item.evidence.channel,
            ip_address=item.evidence.ip_address, user_agent=item.evidence.user_agent)
        self._clean(acceptance, exclude=("subject", "version"))
        self.accepted.add((item.subject.pk, item.version.pk))
        self.acceptances.append((acceptance, item.reason, item.key))

    def _cookie(self, item: CookieChoice) -> None:
        refuse_unplausible_moment(item.occurred_at, "cookie")
        if item.category == CookieCategory.STRICTLY_NECESSARY:
            raise ValidationError(_("Strictly necessary cookies need no consent."), code="strictly_necessary")
        row = CookieConsentEvent(
            subject=item.subject, visitor_id=item.visitor_id, category=item.category, kind=item.kind,
            occurred_at=item.occurred_at, channel=item.evidence.channel, ip_address=item.evidence.ip_address,
            user_agent=item.evidence.user_agent)
        self._clean(row, exclude=("subject",))
        self.cookie_rows.append((row, item.key))




# --- the one place the batch writes ---------------------------------------------------------------------


def _write(plan: _Plan) -> None:
    # A consent changed twice in one batch has two history rows, as two calls of the services write:
    # its first changes in one bulk write, its second ones in the next, and so on.
    rounds = max((len(ledger.changes) for ledger in plan.ledgers.values()), default=0)
    for number in range(rounds):
        changed = [ledger for ledger in plan.ledgers.values() if len(ledger.changes) > number]
        for ledger in changed:
            for column, value in ledger.changes[number][0].items():
                setattr(ledger.consent, column, value)
        _written([ledger.changes[number][3] for ledger in changed], record_save_many,
                 instances=[ledger.consent for ledger in changed], actor=plan.actor,
                 reason=[ledger.changes[number][2] for ledger in changed],
                 event=[ledger.changes[number][1] for ledger in changed], validate=False)
    for row, _key in plan.ledger_rows:
        row.consent = row.consent  # the consent got its id in the write above
    if plan.acceptances:
        _written([key for *_row, key in plan.acceptances], record_save_many,
                 instances=[acceptance for acceptance, _reason, _key in plan.acceptances], actor=plan.actor,
                 reason=[reason for _acceptance, reason, _key in plan.acceptances],
                 event=AuditEvent.POLICY_ACCEPTED, validate=False)
    appended = [*plan.ledger_rows, *plan.cookie_rows]
    _written([key for _row, key in appended], append_many, rows=[row for row, _key in appended], validate=False)
    # The report's figures follow the ledger rows in the same transaction (figures.py).
    figures.record_changes([(ledger.consent, ledger.original, ledger.events) for ledger in plan.ledgers.values()
                            if len(ledger.events) != len(ledger.original)])


class _Refused(Exception):
    def __init__(self, refused: dict[Hashable, ValidationError]):
        super().__init__()
        self.refused = refused


def _written(keys: list[Hashable], write, **arguments) -> None:
    """One bulk write; should the database refuse rows of it, which items they came from."""
    try:
        write(**arguments)
    except BatchRefused as error:
        raise _Refused({keys[index]: refusal for index, refusal in error.errors.items()}) from error


def intake_apply(*, items: Sequence[Item], actor, validate: bool = True) -> IntakeResult:
    """Apply ``items`` in ``occurred_at`` order (the order given between equal moments); what was refused.

    The subjects must be locked by the caller (:func:`lock_subjects`), in the caller's transaction.
    ``validate=False`` skips each new row's field validation (lengths, choices) for a caller that
    checked every value it passes already; the rules above are applied all the same.
    """
    forced: dict[Hashable, ValidationError] = {}
    while True:
        remaining = [item for item in items if item.key not in forced]
        order = sorted(range(len(remaining)), key=lambda index: (remaining[index].occurred_at, index))
        plan = _Plan(remaining, actor, validate)
        for index in order:
            plan.apply(remaining[index])
        try:
            with transaction.atomic():
                _write(plan)
        except _Refused as error:
            # Not expected: every rule was checked above. Should the database still refuse a row, the
            # batch is not half-written: its item is refused and the rest planned and written again.
            forced.update(error.refused)
            continue
        plan.result.refused.update(forced)
        return plan.result
