"""The consent report counts, per purpose and month-end, what the ledger says was in force then.

The oracle is the report's definition read one consent at a time, as the report read it before:
``Consent.objects.in_force_at(moment)`` (the ledger's latest event at or before the moment is a grant
whose term has not ended). The ledgers below are written through the services, most events late
(recorded after newer ones), with withdrawals, grants again, terms that end and moments that fall
exactly on a month-end.
"""

import random
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from shipex_privacy.catalogue.models import Purpose
from shipex_privacy.consents import reports
from shipex_privacy.consents.models import Consent, ConsentEvent
from shipex_privacy.consents.services import Evidence, consent_grant, consent_withdraw
from shipex_privacy.subjects.models import DataSubject
from tests.consents.factories import PolicyVersionFactory
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db

APP = Evidence(channel="app", ip_address="213.230.10.20", user_agent="ShipEx/5.2 (Android 14)")
MONTH_ENDS = reports.month_ends(12)


@pytest.fixture
def purposes():
    """Advertising (1.3.2.5) and, for this report, a second purpose that needs consent."""
    second = Purpose.objects.get(clause="1.3.2.6")
    second.requires_consent = True
    second.save()
    return list(Purpose.objects.filter(requires_consent=True).order_by("clause"))


@pytest.fixture
def policy():
    return PolicyVersionFactory(published=True)


def moment_near_the_report(rng: random.Random):
    """A moment in the report's 13 months and a little before, sometimes exactly on a month-end."""
    if rng.random() < 0.15:
        return rng.choice(MONTH_ENDS[:-1])
    return MONTH_ENDS[0] - timedelta(days=60) + timedelta(minutes=rng.randint(0, 60 * 24 * 420))


def random_ledgers(rng: random.Random, purposes, policy, actor, subjects: int = 10) -> None:
    """Each subject × purpose (and some disclosure consents): steps in time order, recorded shuffled."""
    for _subject in range(subjects):
        subject = DataSubjectFactory(registered_at=MONTH_ENDS[0] - timedelta(days=rng.randint(-300, 90)))
        scopes = [(purpose, "") for purpose in purposes] + [(purposes[0], "processor")] * (rng.random() < 0.4)
        for purpose, recipient_kind in scopes:
            steps = sorted((moment_near_the_report(rng), rng.choice("ggw")) for _step in range(rng.randint(1, 6)))
            if rng.random() < 0.3:  # a withdrawal at the very moment of a grant: the later record wins the tie
                steps.append((steps[0][0], "w"))
            rng.shuffle(steps)  # most events arrive late: after events newer than themselves
            scope = Consent.objects.filter(subject=subject, purpose=purpose, recipient_kind=recipient_kind)
            for at, kind in steps:
                consent = scope.first()
                try:
                    if kind == "g":
                        term = rng.choice([None, None, rng.choice(MONTH_ENDS[:-1]),
                                           at + timedelta(days=rng.randint(1, 120))])
                        consent_grant(subject=subject, purpose=purpose, occurred_at=at, evidence=APP,
                                      policy_version=policy, actor=actor, recipient_kind=recipient_kind,
                                      expires_at=term if term and term > at else None)
                    elif consent is not None:
                        consent_withdraw(consent=consent, occurred_at=at, evidence=APP, actor=actor)
                except ValidationError:
                    pass  # already in force (or not) at that moment: the ledger refuses it, as it should


def in_force_one_by_one(purposes, moments) -> dict[int, list[int]]:
    """The old report's reading: each moment, each purpose, through ``in_force_at``."""
    return {
        purpose.pk: [Consent.objects.filter(purpose=purpose, recipient_kind="").in_force_at(moment).count()
                     for moment in moments]
        for purpose in purposes
    }


def old_consent_rates(purposes, moments):
    subjects = {moment: DataSubject.objects.filter(registered_at__lte=moment).count() for moment in moments}
    counts = in_force_one_by_one(purposes, moments)
    return [(purpose, [(moment, counts[purpose.pk][index], subjects[moment]) for index, moment in enumerate(moments)])
            for purpose in purposes]


def test_counts_agree_with_in_force_at_at_every_month_end_and_every_ledger_moment(purposes, policy, support_agent):
    random_ledgers(random.Random(15), purposes, policy, support_agent)
    assert ConsentEvent.objects.filter(kind="withdraw").exists()
    assert ConsentEvent.objects.exclude(expires_at=None).exists()
    # Every moment the ledger turns at (events, ends of terms) and a microsecond either side of it.
    turns = {*ConsentEvent.objects.values_list("occurred_at", flat=True),
             *ConsentEvent.objects.exclude(expires_at=None).values_list("expires_at", flat=True)}
    moments = sorted({*MONTH_ENDS, *turns, *(turn + timedelta(microseconds=delta) for turn in turns
                                             for delta in (-1, 1))})
    expected = in_force_one_by_one(purposes, moments)
    counted = reports.consents_in_force_per_purpose([purpose.pk for purpose in purposes], moments)
    for purpose in purposes:
        assert counted.get(purpose.pk, [0] * len(moments)) == expected[purpose.pk], purpose.clause
    assert any(expected[purposes[0].pk]) and any(expected[purposes[1].pk])


def test_the_report_shows_the_same_numbers_as_the_old_reading(purposes, policy, support_agent, monkeypatch):
    random_ledgers(random.Random(42), purposes, policy, support_agent, subjects=8)
    monkeypatch.setattr(reports, "month_ends", lambda months: MONTH_ENDS)  # one "now" for both readings
    shown = [(purpose, [(point.moment, point.granted, point.subjects) for point in points])
             for purpose, points in reports.consent_rates()]
    assert shown == old_consent_rates(purposes, MONTH_ENDS)


def test_a_late_withdrawal_changes_the_month_ends_it_lands_before(purposes, policy, support_agent):
    subject = DataSubjectFactory(registered_at=MONTH_ENDS[0] - timedelta(days=30))
    advertising = purposes[0]
    event = consent_grant(subject=subject, purpose=advertising, occurred_at=MONTH_ENDS[1], evidence=APP,
                          policy_version=policy, actor=support_agent, expires_at=MONTH_ENDS[9])
    consent_withdraw(consent=event.consent, occurred_at=MONTH_ENDS[6] - timedelta(days=1), evidence=APP,
                     actor=support_agent)
    consent_grant(subject=subject, purpose=advertising, occurred_at=MONTH_ENDS[10], evidence=APP,
                  policy_version=policy, actor=support_agent)

    def counts():
        return reports.consents_in_force_per_purpose([advertising.pk], MONTH_ENDS)[advertising.pk]

    assert counts() == [0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1]
    # The subject's paper withdrawal of month 3, scanned only now, lands in its place.
    consent_withdraw(consent=event.consent, occurred_at=MONTH_ENDS[3] - timedelta(days=3), evidence=APP,
                     actor=support_agent)
    assert counts() == [0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1]
    assert counts() == in_force_one_by_one([advertising], MONTH_ENDS)[advertising.pk]


def test_the_report_takes_the_same_five_queries_however_many_consents(purposes, policy, support_agent,
                                                                       django_assert_num_queries):
    rng = random.Random(7)
    random_ledgers(rng, purposes, policy, support_agent, subjects=2)
    with django_assert_num_queries(5):
        small = reports.consent_rates()
    random_ledgers(rng, purposes, policy, support_agent, subjects=12)
    with django_assert_num_queries(5):
        large = reports.consent_rates()
    assert sum(point.granted for _purpose, points in large for point in points) > sum(
        point.granted for _purpose, points in small for point in points)
