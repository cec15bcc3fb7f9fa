"""A consent with a term lapses by itself on the day after its term ends (Tashkent time): the ledger
records the lapse with its reason, once, through the consents' bulk path."""

from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from shipex_privacy.audit.models import TrailEntry
from shipex_privacy.catalogue.models import Purpose
from shipex_privacy.consents.integrity import consent_state_matches_ledger
from shipex_privacy.consents.models import Consent, ConsentEvent, term_end
from shipex_privacy.consents.services import (
    Evidence,
    consent_grant,
    consent_withdraw,
    consents_lapse_due,
)
from tests.consents.factories import PolicyVersionFactory
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db

APP = Evidence(channel="app")
LAST_DAY = date(2026, 11, 30)
GRANTED = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
# The boundary in Tashkent (UTC+5): the last moment of 30.11 and the first of 01.12 — still 30.11 in UTC.
LAST_MOMENT = timezone.make_aware(datetime(2026, 11, 30, 23, 59, 59, 999999))
DAY_AFTER = timezone.make_aware(datetime(2026, 12, 1, 0, 0))
CLOCK = timezone.now()


@pytest.fixture
def policy():
    return PolicyVersionFactory(published=True)


@pytest.fixture
def advertising():
    return Purpose.objects.get(clause="1.3.2.5")


def grant(purpose, policy, *, subject=None, at=GRANTED, expires_at=None, **options):
    return consent_grant(subject=subject or DataSubjectFactory(), purpose=purpose, occurred_at=at, evidence=APP,
                         policy_version=policy, actor=None, expires_at=expires_at, **options).consent


def test_a_consent_lapses_on_the_day_after_its_term_ends_in_tashkent_time(advertising, policy):
    consent = grant(advertising, policy, expires_at=term_end(LAST_DAY))
    assert DAY_AFTER.astimezone(UTC) == datetime(2026, 11, 30, 19, 0, tzinfo=UTC)  # still 30.11 in UTC

    assert consents_lapse_due(now=LAST_MOMENT) == 0
    consent.refresh_from_db()
    assert consent.state == Consent.State.GRANTED and consent.is_in_force(LAST_MOMENT)

    assert consents_lapse_due(now=DAY_AFTER) == 1
    consent.refresh_from_db()
    assert consent.state == Consent.State.LAPSED and not consent.is_in_force(DAY_AFTER)
    lapse = consent.events.get(kind=ConsentEvent.Kind.LAPSE)
    assert lapse.occurred_at == DAY_AFTER
    assert lapse.note == "The term of consent to 1.3.2.5 ended on 30.11.2026; it lapsed the day after."
    assert (lapse.recorded_by_id, lapse.recorded_by_username, lapse.channel) == (None, "system:lapse_consents", "")
    assert not Consent.objects.filter(pk=consent.pk).in_force_at(DAY_AFTER).exists()
    assert Consent.objects.filter(pk=consent.pk).in_force_at(LAST_MOMENT).exists()


def test_the_lapse_is_in_history_with_its_reason_and_event(advertising, policy):
    consent = grant(advertising, policy, expires_at=term_end(LAST_DAY))
    consents_lapse_due(now=DAY_AFTER)
    state = consent.history.latest()
    assert (state.state, state.history_username) == ("lapsed", "system:lapse_consents")
    assert "ended on 30.11.2026" in state.history_change_reason
    trail = TrailEntry.objects.filter(model="consents.consent", object_id=str(consent.pk)).latest("id")
    assert (trail.event, trail.username) == ("consent.lapsed", "system:lapse_consents")
    assert consent_state_matches_ledger("default") == []  # verify_audit holds the state to the ledger


def test_lapsing_again_changes_nothing(advertising, policy):
    consent = grant(advertising, policy, expires_at=term_end(LAST_DAY))
    assert consents_lapse_due(now=DAY_AFTER) == 1
    history = consent.history.count()
    assert consents_lapse_due(now=DAY_AFTER + timedelta(days=3)) == 0
    assert consent.events.filter(kind=ConsentEvent.Kind.LAPSE).count() == 1
    assert consent.history.count() == history


def test_a_consent_without_a_term_or_withdrawn_before_it_ends_does_not_lapse(advertising, policy):
    forever = grant(advertising, policy)
    withdrawn = grant(advertising, policy, expires_at=term_end(LAST_DAY))
    consent_withdraw(consent=withdrawn, occurred_at=GRANTED + timedelta(days=5), evidence=APP, actor=None)
    assert consents_lapse_due(now=DAY_AFTER + timedelta(days=400)) == 0
    assert not ConsentEvent.objects.filter(kind=ConsentEvent.Kind.LAPSE).exists()
    forever.refresh_from_db()
    assert forever.is_in_force(DAY_AFTER + timedelta(days=400))


def test_a_term_with_a_time_lapses_at_that_moment(advertising, policy):
    until = timezone.make_aware(datetime(2026, 11, 20, 18, 30))
    consent = grant(advertising, policy, expires_at=until)
    assert consents_lapse_due(now=until - timedelta(microseconds=1)) == 0
    assert consents_lapse_due(now=until) == 1
    lapse = consent.events.get(kind=ConsentEvent.Kind.LAPSE)
    assert lapse.occurred_at == until and lapse.note == "The term of consent to 1.3.2.5 ended at 20.11.2026 18:30."


def test_after_a_lapse_the_subject_may_consent_again_but_not_withdraw(advertising, policy):
    consent = grant(advertising, policy, expires_at=term_end(LAST_DAY))
    consents_lapse_due(now=DAY_AFTER)
    # A lapse is logged late (the job ran on 01.12 at 00:00); the ledger is read at the moment itself.
    with pytest.raises(ValidationError, match="nothing to withdraw"):
        consent_withdraw(consent=consent, occurred_at=DAY_AFTER + timedelta(hours=1), evidence=APP, actor=None)
    grant(advertising, policy, subject=consent.subject, at=DAY_AFTER + timedelta(hours=2))
    consent.refresh_from_db()
    assert consent.state == Consent.State.GRANTED and consent.expires_at is None
    assert list(consent.events.order_by("occurred_at").values_list("kind", flat=True)) == ["grant", "lapse", "grant"]


def test_a_late_withdrawal_inside_the_term_lands_before_the_lapse(advertising, policy):
    """The app was offline: its withdrawal of 20.11 reaches us after the lapse of 01.12 was recorded."""
    consent = grant(advertising, policy, expires_at=term_end(LAST_DAY))
    consents_lapse_due(now=DAY_AFTER)
    consent_withdraw(consent=consent, occurred_at=datetime(2026, 11, 20, tzinfo=UTC), evidence=APP, actor=None)
    consent.refresh_from_db()
    assert list(consent.events.order_by("occurred_at").values_list("kind", flat=True)) == [
        "grant", "withdraw", "lapse"]
    assert consent.state == Consent.State.LAPSED  # the ledger's latest event, as it happened
    assert not Consent.objects.filter(pk=consent.pk).in_force_at(datetime(2026, 11, 25, tzinfo=UTC)).exists()
    assert consent_state_matches_ledger("default") == []


def test_a_late_grant_whose_term_is_over_already_lapses_at_its_end(advertising, policy):
    """A paper form scanned a month late: granted 01.10, term to 31.10; the next run records its lapse."""
    consent = grant(advertising, policy, at=datetime(2026, 10, 1, 9, 0, tzinfo=UTC), expires_at=term_end(
        date(2026, 10, 31)))
    assert consents_lapse_due(now=DAY_AFTER) == 1
    assert consent.events.get(kind=ConsentEvent.Kind.LAPSE).occurred_at == datetime(2026, 10, 31, 19, 0, tzinfo=UTC)


def test_many_consents_lapse_in_batches_with_queries_that_do_not_grow(advertising, policy):
    def lapse(count):
        for _number in range(count):
            grant(advertising, policy, expires_at=term_end(LAST_DAY))
        with CaptureQueriesContext(connection) as queries:
            lapsed = consents_lapse_due(now=DAY_AFTER)
        return lapsed, len(queries)

    few, few_queries = lapse(2)
    many, many_queries = lapse(12)
    assert (few, many) == (2, 12)
    assert many_queries == few_queries  # one bulk write per batch, whatever its size
    for _number in range(5):
        grant(advertising, policy, expires_at=term_end(LAST_DAY))
    assert consents_lapse_due(now=DAY_AFTER, batch_size=2) == 5
    assert not Consent.objects.filter(state=Consent.State.GRANTED, expires_at__lte=DAY_AFTER).exists()


def test_the_command_lapses_what_is_due_and_says_how_many(advertising, policy):
    grant(advertising, policy, expires_at=term_end(LAST_DAY))
    out = StringIO()
    call_command("lapse_consents", "--now", "2026-11-30T23:59:59+05:00", stdout=out)
    assert "0 consent(s) lapsed" in out.getvalue()
    call_command("lapse_consents", "--now", "2026-12-01T00:00:00+05:00", stdout=out)
    assert "1 consent(s) lapsed" in out.getvalue()


@pytest.mark.parametrize("now", ["tomorrow", "2026-13-01T00:00:00+05:00", "2026-12-01T00:00:00"])
def test_the_command_refuses_a_moment_it_cannot_read(now):
    with pytest.raises(CommandError, match="ISO 8601"):
        call_command("lapse_consents", "--now", now)


def test_a_lapse_receipt_names_the_term_that_ended(client, auditor, advertising, policy):
    consent = grant(advertising, policy, expires_at=term_end(LAST_DAY))
    consents_lapse_due(now=DAY_AFTER)
    lapse = consent.events.get(kind=ConsentEvent.Kind.LAPSE)
    client.force_login(auditor)
    page = client.get(f"/admin/consents/consentevent/{lapse.pk}/receipt/", {"language": "en"}).content.decode()
    assert "Consent lapsed at the end of its term" in page
    assert "<th>Term</th><td>until Nov. 30, 2026 inclusive; it lapses on the day after</td>" in page


def test_the_subject_page_shows_the_lapse_and_the_terms_last_day(client, support_agent, advertising, policy):
    consent = grant(advertising, policy, expires_at=term_end(LAST_DAY))
    consents_lapse_due(now=DAY_AFTER)
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("admin:subjects_datasubject_change", args=[consent.subject_id])).content.decode()
    assert "Lapsed 12/01/2026" in page and "<td>11/30/2026</td>" in page


def test_a_moment_ahead_of_the_clock_lapses_nothing_early(advertising, policy):
    consent = grant(advertising, policy, at=CLOCK - timedelta(days=1), expires_at=CLOCK + timedelta(days=1))
    assert consents_lapse_due(now=CLOCK + timedelta(days=2)) == 0
    consent.refresh_from_db()
    assert consent.state == Consent.State.GRANTED

