"""Two first grants of one consent at the same moment: one is recorded, the other is told it is already
in force — never a server error from ``consent_one_state_per_scope``. The subject's row is the lock.

A real race needs real concurrent transactions: PostgreSQL and threads, each with its own connection.
"""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.utils import timezone, translation

from shipex_privacy.catalogue.models import Purpose
from shipex_privacy.consents.models import Consent, ConsentEvent, CookieConsentEvent
from shipex_privacy.consents.services import Evidence, consent_grant, cookie_consent_record
from tests.consents.factories import PolicyVersionFactory
from tests.subjects.factories import DataSubjectFactory

APP = Evidence(channel="app", ip_address="213.230.10.20", user_agent="ShipEx/5.2 (Android 14)")
ROUNDS = 8  # before the lock, 3 runs in 4 of a single round ended in a 500
AT_ONCE = 3


@pytest.fixture(autouse=True)
def _postgresql_only(catalogue):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time and has no row locks: this race cannot happen there")


def at_once(task, count: int = AT_ONCE) -> list:
    """Run ``task(i)`` in ``count`` threads released together; each one's result or exception."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i):
        try:
            barrier.wait()
            with translation.override("en"):  # the language is per thread
                results[i] = task(i)
        except Exception as exc:
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_first_grants_at_the_same_moment_record_one_and_tell_the_others(support_agent):
    advertising = Purpose.objects.get(clause="1.3.2.5")
    policy = PolicyVersionFactory(published=True)
    moment = timezone.now() - timedelta(minutes=5)
    for _round in range(ROUNDS):
        subject = DataSubjectFactory()
        results = at_once(lambda _i, subject=subject: consent_grant(
            subject=subject, purpose=advertising, occurred_at=moment, evidence=APP, policy_version=policy,
            actor=support_agent))
        recorded = [result for result in results if isinstance(result, ConsentEvent)]
        told = [result for result in results if isinstance(result, ValidationError)]
        assert len(recorded) == 1, results
        assert len(told) == AT_ONCE - 1, results
        assert all("already in force" in " ".join(result.messages) for result in told), results
        consent = Consent.objects.get(subject=subject, purpose=advertising)
        assert consent.events.count() == 1 and consent.history.count() == 1
        assert consent.is_in_force()


def test_cookie_choices_of_one_subject_at_the_same_moment_are_all_recorded():
    # Cookie choices are a ledger without a state row: nothing to collide on, but they take the same
    # subject lock (so that none slips in beside an erasure), which must not make any of them fail.
    subject = DataSubjectFactory()
    moment = timezone.now() - timedelta(minutes=5)
    results = at_once(lambda i: cookie_consent_record(
        subject=subject, category="analytics", kind="grant" if i % 2 else "withdraw", occurred_at=moment,
        evidence=APP))
    assert all(isinstance(result, CookieConsentEvent) for result in results), results
    assert CookieConsentEvent.objects.filter(subject=subject).count() == AT_ONCE


def test_acceptances_of_one_version_at_the_same_moment_record_one_and_tell_the_others():
    from shipex_privacy.consents.models import PolicyAcceptance
    from shipex_privacy.consents.services import policy_accept

    policy = PolicyVersionFactory(published=True)
    moment = timezone.now() - timedelta(minutes=5)
    for _round in range(ROUNDS):
        subject = DataSubjectFactory()
        results = at_once(lambda _i, subject=subject: policy_accept(
            subject=subject, version=policy, accepted_at=moment, channel="app", actor=None))
        assert sum(isinstance(result, PolicyAcceptance) for result in results) == 1, results
        told = [result for result in results if isinstance(result, ValidationError)]
        assert len(told) == AT_ONCE - 1, results
        assert all("already accepted" in " ".join(result.messages) for result in told), results
        assert subject.policy_acceptances.count() == 1
