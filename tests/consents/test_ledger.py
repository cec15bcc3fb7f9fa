"""Consents are a ledger: grant, withdraw, expire, grant again — and the state at any moment."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from shipex_privacy.catalogue.models import Purpose
from shipex_privacy.consents.models import Consent, ConsentEvent
from shipex_privacy.consents.services import ConsentDocument, Evidence, consent_grant, consent_withdraw
from shipex_privacy.subjects.models import DataSubject
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


def grant(subject, purpose, policy, at, actor, **options):
    return consent_grant(subject=subject, purpose=purpose, occurred_at=at, evidence=APP, policy_version=policy,
                         actor=actor, **options)


def test_grant_withdraw_expire_and_grant_again(subject, advertising, policy, support_agent):
    first = grant(subject, advertising, policy, days_ago(100), support_agent, expires_at=days_ago(60))
    consent = first.consent
    assert consent.is_in_force(days_ago(80)) and not consent.is_in_force()  # past its term now

    second = grant(subject, advertising, policy, days_ago(50), support_agent)
    consent_withdraw(consent=consent, occurred_at=days_ago(20), evidence=APP, actor=support_agent)
    third = grant(subject, advertising, policy, days_ago(10), support_agent)

    consent.refresh_from_db()
    assert consent.is_in_force()
    assert [event.kind for event in consent.events.order_by("occurred_at")] == [
        "grant", "grant", "withdraw", "grant"
    ]
    assert {first.consent_id, second.consent_id, third.consent_id} == {consent.pk}

    in_force = Consent.objects.filter(purpose=advertising)
    # The state at each past moment, read from the ledger.
    assert list(in_force.in_force_at(days_ago(101))) == []          # before the first grant
    assert list(in_force.in_force_at(days_ago(80))) == [consent]     # first grant, within its term
    assert list(in_force.in_force_at(days_ago(55))) == []           # first term over
    assert list(in_force.in_force_at(days_ago(30))) == [consent]     # granted again
    assert list(in_force.in_force_at(days_ago(15))) == []           # withdrawn
    assert list(in_force.in_force_at(NOW)) == [consent]              # granted once more
    assert list(in_force.in_force()) == [consent]


def test_who_has_advertising_consent_now_is_one_indexed_query(advertising, policy, support_agent):
    subjects = DataSubjectFactory.create_batch(4)
    for subject in subjects:
        grant(subject, advertising, policy, days_ago(5), support_agent)
    consent_withdraw(consent=Consent.objects.get(subject=subjects[0]), occurred_at=days_ago(1), evidence=APP,
                     actor=support_agent)
    grant(subjects[1], Purpose.objects.get(clause="1.3.2.5"), policy, days_ago(4), support_agent,
          recipient_kind="research_partner")
    now_in_force = DataSubject.objects.filter(
        consents__in=Consent.objects.in_force().filter(purpose__clause="1.3.2.5", recipient_kind="")
    )
    assert set(now_in_force) == set(subjects[1:])
    if connection.vendor == "postgresql":
        sql, params = Consent.objects.in_force().filter(purpose=advertising).query.sql_with_params()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = " ".join(row[0] for row in cursor.fetchall())
        assert "consent_purpose_state_idx" in plan


def test_every_event_keeps_who_recorded_it_and_what_the_document_covered(subject, advertising, policy, support_agent):
    event = grant(subject, advertising, policy, days_ago(1), support_agent, document=ConsentDocument(
        covered_data=["contact.email"], allows_cross_border_transfer=True, operator_tin="301234567"))
    assert (event.recorded_by_id, event.recorded_by_username) == (support_agent.pk, support_agent.username)
    assert (event.subject_name, event.covered_data, event.allows_cross_border_transfer) == (
        subject.full_name, ["contact.email"], True)
    assert event.policy_version == policy and event.ip_address == "213.230.10.20"
    state = event.consent.history.latest()
    assert (state.history_username, state.state) == (support_agent.username, "granted")


@pytest.mark.parametrize(
    ("situation", "message"),
    [
        ("purpose without consent", "does not rest on consent"),
        ("unpublished version", "is not published"),
        ("version not yet in force", "was not yet in force"),
        ("future moment", "future"),
        ("unknown data code", "Unknown catalogue codes: contact.pager"),
        ("already in force", "already in force"),
        ("closed account", "closed or anonymised"),
        ("year 1", "not a plausible date"),
        ("term ending in year 9999", "not a plausible date"),
    ],
)
def test_grant_refusals_say_why_and_change_nothing(situation, message, subject, advertising, policy, support_agent):
    purpose, version, at, document, expires_at = advertising, policy, days_ago(1), None, None
    if situation == "purpose without consent":
        purpose = Purpose.objects.get(clause="1.3.2.2")
    elif situation == "unpublished version":
        version = PolicyVersionFactory()
    elif situation == "version not yet in force":
        version = PolicyVersionFactory(published=True, effective_date=timezone.localdate() + timedelta(days=30))
    elif situation == "future moment":
        at = NOW + timedelta(hours=2)
    elif situation == "unknown data code":
        document = ConsentDocument(covered_data=["contact.pager"])
    elif situation == "already in force":
        grant(subject, advertising, policy, days_ago(3), support_agent)
    elif situation == "closed account":
        subject.status = DataSubject.Status.CLOSED
        subject.save()
    elif situation == "year 1":  # a typing slip; in Tashkent time it cannot even be converted to UTC
        at = datetime(1, 1, 1, tzinfo=ZoneInfo("Asia/Tashkent"))
    elif situation == "term ending in year 9999":
        expires_at = datetime(9999, 12, 31, 23, 59, tzinfo=ZoneInfo("America/New_York"))
    events_before = ConsentEvent.objects.count()
    states_before = list(Consent.objects.values_list("pk", "state", "granted_at"))
    with pytest.raises(ValidationError, match=message):
        grant(subject, purpose, version, at, support_agent, document=document, expires_at=expires_at)
    assert ConsentEvent.objects.count() == events_before
    assert list(Consent.objects.values_list("pk", "state", "granted_at")) == states_before


@pytest.mark.parametrize(
    "situation", ["withdrawn already", "expired", "before the grant", "late, while it was withdrawn", "year 1"])
def test_withdrawing_a_consent_not_in_force_is_refused(situation, subject, advertising, policy, support_agent):
    event = grant(subject, advertising, policy, days_ago(30), support_agent,
                  expires_at=days_ago(10) if situation == "expired" else None)
    consent, at = event.consent, days_ago(1)
    if situation == "withdrawn already":
        consent_withdraw(consent=consent, occurred_at=days_ago(5), evidence=APP, actor=support_agent)
    elif situation == "before the grant":
        at = days_ago(40)
    elif situation == "late, while it was withdrawn":  # a late event is judged at its own moment in the ledger
        consent_withdraw(consent=consent, occurred_at=days_ago(20), evidence=APP, actor=support_agent)
        grant(subject, advertising, policy, days_ago(10), support_agent)
        at = days_ago(15)
    elif situation == "year 1":
        at = datetime(1, 1, 1, tzinfo=ZoneInfo("Asia/Tashkent"))
    events_before = consent.events.count()
    with pytest.raises(ValidationError, match=r"not in force|not a plausible date"):
        consent_withdraw(consent=consent, occurred_at=at, evidence=APP, actor=support_agent)
    assert consent.events.count() == events_before


def test_the_ledger_refuses_edits_and_deletions_even_in_raw_sql(subject, advertising, policy, support_agent):
    event = grant(subject, advertising, policy, days_ago(2), support_agent)
    table = ConsentEvent._meta.db_table
    for sql in (f"UPDATE {table} SET kind = 'withdraw'", f"DELETE FROM {table}"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    event.refresh_from_db()
    assert event.kind == "grant"


def test_accepting_a_policy_version_twice_says_so_and_records_nothing(subject, policy, support_agent):
    from shipex_privacy.consents.services import policy_accept

    policy_accept(subject=subject, version=policy, accepted_at=days_ago(2), channel="app", actor=support_agent)
    with pytest.raises(ValidationError, match=f"already accepted policy version {policy.version}"):
        policy_accept(subject=subject, version=policy, accepted_at=days_ago(1), channel="web", actor=support_agent)
    assert subject.policy_acceptances.get().channel == "app"
