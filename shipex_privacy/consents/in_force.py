"""What a subject allows now, in one statement: the read behind GET /api/v1/subjects/{id}/consents.

ShipEx's apps ask before they process (1.3.2.5 advertising, cookies 1.6), so the answer must take a
few milliseconds at millions of subjects (issue 11). Through the ORM it took three queries, and
building and compiling the subject's six correlated subqueries on every call cost more than running
them. Here it is one statement, written once per database vendor: the subject, its latest cookie
choice per category, its latest policy acceptance, the policy version in force and the consents in
force (one row per consent, or one row for none), each an indexed lookup.

The rules are those of ``Consent.objects.in_force``, ``PolicyVersion.objects.in_force`` and the
cookie ledger (the latest choice at or before now wins); tests/consents/test_in_force.py holds this
read equal to them. It only reads.
"""

import functools
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from shipex_privacy.catalogue.models import Purpose
from shipex_privacy.subjects.intake import ERASED_STATUSES
from shipex_privacy.subjects.models import DataSubject

from .models import Consent, CookieCategory, CookieConsentEvent, PolicyAcceptance, PolicyVersion

# Strictly necessary cookies need no choice; the others are allowed only by the latest choice.
CHOSEN_COOKIES = tuple(category for category in CookieCategory.values if category != CookieCategory.STRICTLY_NECESSARY)


@dataclass(frozen=True)
class ConsentInForce:
    purpose: str  # the purpose's clause
    recipient_kind: str  # "" unless a consent to disclosure (1.4.3.1)
    granted_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class SubjectConsentsNow:
    subject_id: int
    account_id: str
    status: str
    erased: bool
    consents: list[ConsentInForce]  # none for an erased subject
    cookies: dict[str, bool]  # every category
    accepted_version: str | None
    accepted_at: datetime | None
    version_in_force: str | None
    accepted_version_in_force: bool


def subject_consents_now(account_id: str, at: datetime | None = None) -> SubjectConsentsNow | None:
    """The consents in force of the subject with ``account_id`` (normalised) at ``at``; None for no subject.

    An account id that erasure replaced (``ERASED-<pk>``) still finds its erased subject through the
    subject's history (a second statement, only on a miss), so the app learns that nothing is in force
    rather than "unknown".
    """
    at = at or timezone.now()
    rows = _read("account", account_id, at)
    if not rows:
        rows = _read("erased", account_id, at)
    if not rows:
        return None
    # A row: the subject's columns, then one consent in force (all NULL when it has none).
    subject_id, found_account_id, status, *cookie_kinds = rows[0][:3 + len(CHOSEN_COOKIES)]
    accepted_version, accepted_at, version_in_force, accepted_in_force = rows[0][3 + len(CHOSEN_COOKIES):-4]
    erased = status in ERASED_STATUSES
    consents = [] if erased else [
        ConsentInForce(purpose=row[-4], recipient_kind=row[-3], granted_at=_moment(row[-2]),
                       expires_at=_moment(row[-1]))
        for row in rows if row[0] == subject_id and row[-4] is not None
    ]
    chosen = dict(zip(CHOSEN_COOKIES, cookie_kinds, strict=True))
    cookies = {category: category == CookieCategory.STRICTLY_NECESSARY
               or (not erased and chosen[category] == CookieConsentEvent.Kind.GRANT)
               for category in CookieCategory.values}
    return SubjectConsentsNow(
        subject_id=subject_id, account_id=found_account_id, status=status, erased=erased, consents=consents,
        cookies=cookies, accepted_version=accepted_version, accepted_at=_moment(accepted_at),
        version_in_force=version_in_force, accepted_version_in_force=bool(accepted_in_force))


def _read(by: str, account_id: str, at: datetime) -> list[tuple]:
    ops = connection.ops
    moment = ops.adapt_datetimefield_value(at)
    params = [value for category in CHOSEN_COOKIES for value in (category, moment)]
    params += [ops.adapt_datefield_value(timezone.localdate(at)), Consent.State.GRANTED, moment, account_id]
    if by == "erased":
        params += list(ERASED_STATUSES)
    with connection.cursor() as cursor:
        cursor.execute(_statement(connection.vendor, by), params)
        return cursor.fetchall()


@functools.cache
def _statement(vendor: str, by: str) -> str:
    """The read's SQL; ``by`` "account" (the subject with this account id) or "erased" (its erased one).

    Safe: only quoted table names from the models' metadata go into the text; every value is a parameter.
    """
    quote = connection.ops.quote_name
    subject, history = quote(DataSubject._meta.db_table), quote(DataSubject.history.model._meta.db_table)
    cookie, acceptance = quote(CookieConsentEvent._meta.db_table), quote(PolicyAcceptance._meta.db_table)
    version, consent, purpose = (quote(model._meta.db_table) for model in (PolicyVersion, Consent, Purpose))
    latest_cookie = (f"(SELECT e.kind FROM {cookie} e WHERE e.subject_id = s.id AND e.category = %s "  # noqa: S608
                     "AND e.occurred_at <= %s ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1)")
    latest_acceptance = ("(SELECT {column} FROM " + acceptance + " a {join}WHERE a.subject_id = s.id "  # noqa: S608
                         "ORDER BY a.accepted_at DESC, a.id DESC LIMIT 1)")
    if by == "account":
        where = "s.account_id = %s"
    else:
        statuses = ", ".join(["%s"] * len(ERASED_STATUSES))
        where = f"s.id IN (SELECT h.id FROM {history} h WHERE h.account_id = %s) AND s.status IN ({statuses})"  # noqa: S608
    # The subjects in their model's order (Meta.ordering), for an old account id several erased subjects had.
    return (
        f"SELECT s.id, s.account_id, s.status, {', '.join([latest_cookie] * len(CHOSEN_COOKIES))}, "  # noqa: S608
        f"{latest_acceptance.format(column='v.version', join=f'JOIN {version} v ON v.id = a.version_id ')}, "
        f"{latest_acceptance.format(column='a.accepted_at', join='')}, "
        f"f.version, EXISTS (SELECT 1 FROM {acceptance} a WHERE a.subject_id = s.id AND a.version_id = f.id), "
        "p.clause, c.recipient_kind, c.granted_at, c.expires_at "
        f"FROM {subject} s "
        f"LEFT JOIN (SELECT v.id, v.version FROM {version} v WHERE v.published_at IS NOT NULL "
        "AND v.effective_date <= %s ORDER BY v.effective_date DESC, v.published_at DESC LIMIT 1) f ON 1 = 1 "
        f"LEFT JOIN {consent} c ON c.subject_id = s.id AND c.state = %s "
        "AND (c.expires_at IS NULL OR c.expires_at > %s) "
        f"LEFT JOIN {purpose} p ON p.id = c.purpose_id "
        f"WHERE {where} "
        "ORDER BY s.registered_at DESC, s.id DESC, p.clause, c.recipient_kind"
    )


def _moment(value) -> datetime | None:
    """A datetime as the ORM gives it: aware. SQLite returns a subquery's value as text, and naive."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value
