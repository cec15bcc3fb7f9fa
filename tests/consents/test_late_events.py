"""Late events land in their place in the consent ledger without overriding a newer state.

The rules (consents/services.py, "The consent ledger's rules"): the state at t is the latest ledger
event at or before t; a grant when in force at t, or a withdrawal when not, is refused with the code
``no_change``; the Consent row is the summary of the ledger, and verify_audit's consent check agrees.
"""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from shipex_privacy.catalogue.models import Purpose
from shipex_privacy.consents.integrity import consent_state_matches_ledger
from shipex_privacy.consents.models import Consent
from shipex_privacy.consents.services import Evidence, consent_grant, consent_withdraw
from tests.consents.factories import PolicyVersionFactory
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db

APP = Evidence(channel="app", ip_address="213.230.10.20", user_agent="ShipEx/5.2 (Android 14)")
NOW = timezone.now()


def days_ago(days: float):
    return NOW - timedelta(days=days)


@pytest.fixture
def advertising():
    return Purpose.objects.get(clause="1.3.2.5")


@pytest.fixture
def policy():
    return PolicyVersionFactory(published=True)


@pytest.fixture
def subject():
    return DataSubjectFactory()


@pytest.fixture
def ledger(subject, advertising, policy, support_agent):
    """Record events in the order given; ``("grant", days, options)`` or ``("withdraw", days)``."""

    def record(*steps):
        consent = None
        for step in steps:
            kind, days, *rest = step
            if kind == "grant":
                event = consent_grant(subject=subject, purpose=advertising, occurred_at=days_ago(days), evidence=APP,
                                      policy_version=policy, actor=support_agent, **(rest[0] if rest else {}))
            else:
                event = consent_withdraw(consent=consent, occurred_at=days_ago(days), evidence=APP,
                                         actor=support_agent)
            consent = event.consent
        consent.refresh_from_db()
        return consent

    return record


def kinds(consent):
    return [(event.kind, round((NOW - event.occurred_at) / timedelta(days=1))) for event in
            consent.events.order_by("occurred_at", "id")]


def assert_ledger_and_state_agree():
    assert consent_state_matches_ledger("default") == []


def test_a_late_withdrawal_lands_in_its_place_and_the_newer_state_stays(ledger):
    consent = ledger(("grant", 30), ("withdraw", 5))
    history_before = consent.history.count()
    consent_withdraw(consent=consent, occurred_at=days_ago(15), evidence=APP, actor=None)
    consent.refresh_from_db()
    assert kinds(consent) == [("grant", 30), ("withdraw", 15), ("withdraw", 5)]
    assert (consent.state, consent.withdrawn_at) == ("withdrawn", days_ago(5))
    assert consent.history.count() == history_before  # nothing in the current state changed
    assert Consent.objects.in_force_at(days_ago(20)).filter(pk=consent.pk).exists()
    assert not Consent.objects.in_force_at(days_ago(10)).filter(pk=consent.pk).exists()
    assert_ledger_and_state_agree()


def test_a_late_grant_lands_behind_a_newer_grant_without_changing_it(ledger, subject, advertising, policy):
    consent = ledger(("grant", 30), ("withdraw", 20), ("grant", 5))
    consent_grant(subject=subject, purpose=advertising, occurred_at=days_ago(15), evidence=APP, policy_version=policy,
                  actor=None, expires_at=days_ago(12))
    consent.refresh_from_db()
    assert kinds(consent) == [("grant", 30), ("withdraw", 20), ("grant", 15), ("grant", 5)]
    assert (consent.state, consent.granted_at, consent.expires_at) == ("granted", days_ago(5), None)
    assert Consent.objects.in_force_at(days_ago(14)).filter(pk=consent.pk).exists()
    assert not Consent.objects.in_force_at(days_ago(11)).filter(pk=consent.pk).exists()  # its term ended
    assert_ledger_and_state_agree()


def test_a_late_grant_under_a_newer_withdrawal_becomes_the_consents_last_grant(ledger, subject, advertising, policy):
    consent = ledger(("grant", 30), ("withdraw", 5))
    consent_withdraw(consent=consent, occurred_at=days_ago(20), evidence=APP, actor=None)
    history_before = consent.history.count()
    consent_grant(subject=subject, purpose=advertising, occurred_at=days_ago(15), evidence=Evidence(channel="web"),
                  policy_version=policy, actor=None)
    consent.refresh_from_db()
    assert kinds(consent) == [("grant", 30), ("withdraw", 20), ("grant", 15), ("withdraw", 5)]
    # Still withdrawn since day 5, but the period it ended began with the late grant, through the website.
    assert (consent.state, consent.withdrawn_at) == ("withdrawn", days_ago(5))
    assert (consent.granted_at, consent.channel) == (days_ago(15), "web")
    assert consent.history.count() == history_before + 1
    assert_ledger_and_state_agree()


@pytest.mark.parametrize(("steps", "kind", "days"), [
    ([("grant", 30), ("withdraw", 5)], "grant", 10),          # already in force on day 10
    ([("grant", 30), ("withdraw", 20), ("grant", 5)], "withdraw", 10),  # not in force on day 10
    ([("grant", 30, {"expires_at": days_ago(20)}), ("grant", 5)], "withdraw", 10),  # its term had ended
    ([("grant", 30)], "withdraw", 40),                         # before it was ever granted
])
def test_a_late_event_that_changes_nothing_at_its_moment_is_refused_with_no_change(
        ledger, steps, kind, days, subject, advertising, policy):
    consent = ledger(*steps)
    before = kinds(consent)
    with pytest.raises(ValidationError) as refused:
        if kind == "grant":
            consent_grant(subject=subject, purpose=advertising, occurred_at=days_ago(days), evidence=APP,
                          policy_version=policy, actor=None)
        else:
            consent_withdraw(consent=consent, occurred_at=days_ago(days), evidence=APP, actor=None)
    assert [error.code for error in refused.value.error_list] == ["no_change"]
    assert kinds(consent) == before


def test_an_event_at_the_same_moment_as_the_latest_follows_it(ledger):
    consent = ledger(("grant", 10))
    consent_withdraw(consent=consent, occurred_at=days_ago(10), evidence=APP, actor=None)
    consent.refresh_from_db()
    assert consent.state == "withdrawn" and kinds(consent) == [("grant", 10), ("withdraw", 10)]
    assert_ledger_and_state_agree()


def test_a_late_withdrawal_within_an_ended_term_is_refused_and_one_within_it_lands(ledger):
    consent = ledger(("grant", 30, {"expires_at": days_ago(20)}), ("grant", 5))
    with pytest.raises(ValidationError, match="not in force"):
        consent_withdraw(consent=consent, occurred_at=days_ago(15), evidence=APP, actor=None)
    consent_withdraw(consent=consent, occurred_at=days_ago(25), evidence=APP, actor=None)
    consent.refresh_from_db()
    assert kinds(consent) == [("grant", 30), ("withdraw", 25), ("grant", 5)]
    assert consent.is_in_force()
    assert_ledger_and_state_agree()
