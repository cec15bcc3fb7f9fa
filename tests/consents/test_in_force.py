"""The one-statement read of what a subject allows now (consents/in_force.py) gives what the ORM's rules give.

The API's consents answer is written as one SQL statement for speed (issue 11); its rules live in the
models (Consent.objects.in_force, PolicyVersion.objects.in_force, the cookie ledger's latest choice).
These tests hold the two equal over subjects with every kind of state, at several moments.
"""

import datetime
from datetime import timedelta

import pytest
from django.utils import timezone

from shipex_privacy.catalogue.models import Purpose
from shipex_privacy.consents.in_force import CHOSEN_COOKIES, subject_consents_now
from shipex_privacy.consents.models import Consent, CookieConsentEvent, PolicyAcceptance, PolicyVersion
from shipex_privacy.consents.services import (
    Evidence,
    consent_grant,
    consent_withdraw,
    cookie_consent_record,
    policy_accept,
)
from shipex_privacy.subjects.models import DataSubject
from tests.consents.factories import PolicyVersionFactory
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db

APP = Evidence(channel="app", ip_address="213.230.10.20", user_agent="ShipEx/5.2 (Android 14)")


def by_the_orm(subject: DataSubject, at: datetime.datetime) -> dict:
    """The same answer, one rule at a time through the models."""
    erased = subject.is_erased
    consents = [] if erased else list(
        Consent.objects.in_force(at).filter(subject=subject).order_by("purpose__clause", "recipient_kind")
        .values_list("purpose__clause", "recipient_kind", "granted_at", "expires_at"))
    latest = {category: CookieConsentEvent.objects.filter(subject=subject, category=category, occurred_at__lte=at)
              .order_by("-occurred_at", "-id").values_list("kind", flat=True).first() for category in CHOSEN_COOKIES}
    acceptance = PolicyAcceptance.objects.filter(subject=subject).order_by("-accepted_at", "-id").first()
    in_force = PolicyVersion.objects.in_force(timezone.localdate(at))
    return {
        "subject_id": subject.pk, "status": subject.status, "consents": consents,
        "cookies": {"strictly_necessary": True, **{category: not erased and kind == "grant"
                                                   for category, kind in latest.items()}},
        "accepted_version": acceptance.version.version if acceptance else None,
        "accepted_at": acceptance.accepted_at if acceptance else None,
        "version_in_force": in_force.version if in_force else None,
        "accepted_version_in_force": bool(in_force and PolicyAcceptance.objects.filter(
            subject=subject, version=in_force).exists()),
    }


def by_the_read(account_id: str, at: datetime.datetime) -> dict:
    found = subject_consents_now(account_id, at)
    return {
        "subject_id": found.subject_id, "status": found.status,
        "consents": [(c.purpose, c.recipient_kind, c.granted_at, c.expires_at) for c in found.consents],
        "cookies": found.cookies, "accepted_version": found.accepted_version, "accepted_at": found.accepted_at,
        "version_in_force": found.version_in_force, "accepted_version_in_force": found.accepted_version_in_force,
    }


@pytest.fixture
def policies():
    """An old and a current version in force, one published for later, and a draft that never counts."""
    today = timezone.localdate()
    return {
        "old": PolicyVersionFactory(published=True, effective_date=datetime.date(2024, 1, 1)),
        "current": PolicyVersionFactory(published=True, effective_date=datetime.date(2025, 1, 1)),
        "later": PolicyVersionFactory(published=True, effective_date=today + timedelta(days=30)),
        "draft": PolicyVersionFactory(effective_date=datetime.date(2025, 6, 1)),
    }


def test_the_read_gives_what_the_rules_give_for_every_kind_of_state(policies):
    now = timezone.now()
    ads = Purpose.objects.get(clause="1.3.2.5")

    def grant(subject, days_ago, **options):
        return consent_grant(subject=subject, purpose=ads, occurred_at=now - timedelta(days=days_ago),
                             evidence=APP, policy_version=policies["current"], actor=None, **options)

    def cookie(subject, category, kind, days_ago):
        cookie_consent_record(subject=subject, category=category, kind=kind, evidence=APP,
                              occurred_at=now - timedelta(days=days_ago))

    def accept(subject, version, days_ago):
        policy_accept(subject=subject, version=policies[version], accepted_at=now - timedelta(days=days_ago),
                      channel="app", actor=None)

    # Everything at once: consents open, ending within the hour and withdrawn; cookie choices changed
    # over time; the old policy accepted, then the current one.
    full = DataSubjectFactory(account_id="SX1000001")
    grant(full, 10)
    grant(full, 3, recipient_kind="processor", expires_at=now + timedelta(hours=1))
    consent_withdraw(consent=grant(full, 4, recipient_kind="research_partner").consent,
                     occurred_at=now - timedelta(days=1), evidence=APP, actor=None)
    cookie(full, "analytics", "grant", 5)
    cookie(full, "analytics", "withdraw", 1)
    cookie(full, "advertising", "grant", 3)
    accept(full, "old", 400)
    accept(full, "current", 2)
    # Only the old policy accepted, no consent, no cookie choice.
    behind = DataSubjectFactory(account_id="SX1000002")
    accept(behind, "old", 300)
    # Nothing at all.
    DataSubjectFactory(account_id="SX1000003")
    # Erased: nothing in force, also under the account id it had.
    erased = DataSubjectFactory(account_id="SX1000004")
    grant(erased, 5)
    cookie(erased, "functional", "grant", 2)
    accept(erased, "current", 2)
    erased.status, erased.account_id = DataSubject.Status.CLOSED, f"ERASED-{erased.pk}"
    erased.save()

    # Before the latest changes, now, and after the short consent ended.
    for at in (now - timedelta(days=2), now, now + timedelta(hours=2)):
        for account_id in ("SX1000001", "SX1000002", "SX1000003", "SX1000004", f"ERASED-{erased.pk}"):
            subject = DataSubject.objects.get(pk=subject_consents_now(account_id, at).subject_id)
            assert by_the_read(account_id, at) == by_the_orm(subject, at), (account_id, at)
    answer = by_the_read("SX1000001", now)
    assert [(purpose, kind) for purpose, kind, *_dates in answer["consents"]] == [
        ("1.3.2.5", ""), ("1.3.2.5", "processor")]
    assert answer["cookies"] == {"strictly_necessary": True, "functional": False, "analytics": False,
                                 "advertising": True}
    assert answer["accepted_version"] == answer["version_in_force"] == policies["current"].version
    assert answer["accepted_version_in_force"] is True
    assert by_the_read("SX1000002", now)["accepted_version_in_force"] is False
    assert by_the_read("SX1000004", now)["status"] == DataSubject.Status.CLOSED
    assert all(isinstance(moment, datetime.datetime) and moment.tzinfo is not None
               for *_rest, granted_at, expires_at in answer["consents"] for moment in (granted_at, expires_at)
               if moment is not None)


def test_an_unknown_account_id_is_none():
    assert subject_consents_now("SX1999999") is None
