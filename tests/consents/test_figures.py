"""The consent report's figures (consents/figures.py) say what the ledger says, however it was written.

The oracles are the two readings of the ledger itself: ``consents_in_force_per_purpose`` (one pass)
and ``Consent.objects.in_force_at`` one moment at a time. The ledgers are written through the services
(most events late, recorded after newer ones), through the bulk path (intake.py) in shuffled batches,
lapsed by the lapse job, and folded by the fold job in between.
"""

import random
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from shipex_privacy.audit import tamper
from shipex_privacy.audit.events import SystemActor
from shipex_privacy.catalogue.models import Purpose
from shipex_privacy.consents import figures, intake, reports
from shipex_privacy.consents.models import Consent, ConsentEvent, ConsentFigure, ConsentFigureChange, term_end
from shipex_privacy.consents.services import consent_grant, consents_lapse_due
from shipex_privacy.consents.tasks import fold_consent_figures
from shipex_privacy.subjects.models import DataSubject
from tests.consents.factories import PolicyVersionFactory
from tests.consents.test_reports import APP, MONTH_ENDS, in_force_one_by_one, moment_near_the_report, random_ledgers
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def purposes():
    """Advertising (1.3.2.5) and a second purpose that needs consent, as in test_reports."""
    second = Purpose.objects.get(clause="1.3.2.6")
    second.requires_consent = True
    second.save()
    return list(Purpose.objects.filter(requires_consent=True).order_by("clause"))


@pytest.fixture
def policy():
    return PolicyVersionFactory(published=True)


def ledger_moments():
    """The report's moments, every moment the ledger turns at, and a microsecond either side of them."""
    turns = {*ConsentEvent.objects.values_list("occurred_at", flat=True),
             *ConsentEvent.objects.exclude(expires_at=None).values_list("expires_at", flat=True)}
    return sorted({*MONTH_ENDS, timezone.now(), *turns,
                   *(turn + timedelta(microseconds=delta) for turn in turns for delta in (-1, 1))})


def assert_figures_agree(purposes, moments=None):
    """The figures' counts are the ledger's at every moment asked, and nothing drifted."""
    moments = moments or [*MONTH_ENDS[:-1], timezone.now()]
    ids = [purpose.pk for purpose in purposes]
    from_ledger = reports.consents_in_force_per_purpose(ids, moments)
    counted = figures.in_force_counts(ids, moments)
    for purpose in purposes:
        assert counted.get(purpose.pk, [0] * len(moments)) == from_ledger.get(purpose.pk, [0] * len(moments)), \
            purpose.clause
    assert figures.figures_drift() == []
    return counted


def test_the_figures_agree_with_both_readings_of_the_ledger_before_and_after_folding(purposes, policy,
                                                                                    support_agent):
    random_ledgers(random.Random(15), purposes, policy, support_agent)
    assert ConsentEvent.objects.filter(kind="withdraw").exists()
    assert ConsentEvent.objects.exclude(expires_at=None).exists()
    month_end_moments = [*MONTH_ENDS[:-1], timezone.now()]
    expected = in_force_one_by_one(purposes, month_end_moments)
    assert any(expected[purposes[0].pk]) and any(expected[purposes[1].pk])
    assert ConsentFigureChange.objects.exists() and not ConsentFigure.objects.exists()
    for fold in (False, True):
        if fold:
            assert figures.figures_fold() > 0
            assert ConsentFigure.objects.exists()
            assert not ConsentFigureChange.objects.filter(at__lt=figures.start_of(timezone.localdate())).exists()
        counted = assert_figures_agree(purposes)
        assert {purpose.pk: counted.get(purpose.pk, [0] * 13) for purpose in purposes} == expected
        # Moments inside past days (not a day's end) are read from the ledger: the same numbers.
        assert_figures_agree(purposes, ledger_moments())
    assert figures.figures_fold() == 0  # idempotent: nothing more to fold


def test_late_events_after_a_fold_change_the_folded_month_ends(purposes, policy, support_agent):
    rng = random.Random(3)
    random_ledgers(rng, purposes, policy, support_agent, subjects=4)
    fold_consent_figures()
    before = assert_figures_agree(purposes)
    # More ledgers, every event older than today, recorded after the fold, shuffled: they land in
    # folded days and must move every month-end after them.
    random_ledgers(rng, purposes, policy, support_agent, subjects=6)
    after = assert_figures_agree(purposes)
    assert after != before
    fold_consent_figures()
    assert assert_figures_agree(purposes) == after


def test_a_late_withdrawal_moves_the_month_ends_after_it_only(purposes, policy, support_agent):
    subject = DataSubjectFactory(registered_at=MONTH_ENDS[0] - timedelta(days=30))
    advertising = purposes[0]
    event = consent_grant(subject=subject, purpose=advertising, occurred_at=MONTH_ENDS[1], evidence=APP,
                          policy_version=policy, actor=support_agent)
    figures.figures_fold()

    def counts():
        return figures.in_force_counts([advertising.pk], MONTH_ENDS).get(advertising.pk)

    assert counts() == [0] + [1] * 12
    from shipex_privacy.consents.services import consent_withdraw

    consent_withdraw(consent=event.consent, occurred_at=MONTH_ENDS[5] - timedelta(days=3), evidence=APP,
                     actor=support_agent)
    assert counts() == [0, 1, 1, 1, 1] + [0] * 8
    assert counts() == in_force_one_by_one([advertising], MONTH_ENDS)[advertising.pk]


def test_a_term_ends_at_its_moment_not_when_the_lapse_job_records_it(purposes, policy, support_agent):
    """Between a term's end and the lapse job's write, the month-ends after it say "not in force",
    as the ledger's reading does; the lapse itself changes no figure."""
    advertising = purposes[0]
    last_day = timezone.localtime(MONTH_ENDS[4]).date()  # the term's last day is a month's last day
    for n in range(3):
        subject = DataSubjectFactory(registered_at=MONTH_ENDS[0] - timedelta(days=30))
        consent_grant(subject=subject, purpose=advertising, occurred_at=MONTH_ENDS[1] - timedelta(hours=n),
                      evidence=APP, policy_version=policy, actor=support_agent, expires_at=term_end(last_day))
    figures.figures_fold()
    counted = assert_figures_agree(purposes)[advertising.pk]
    assert counted == [0, 3, 3, 3, 3] + [0] * 8
    assert Consent.objects.filter(state="granted").count() == 3  # not lapsed yet
    changes = ConsentFigureChange.objects.count() + ConsentFigure.objects.count()
    assert consents_lapse_due() == 3
    assert ConsentFigureChange.objects.count() + ConsentFigure.objects.count() == changes
    assert assert_figures_agree(purposes)[advertising.pk] == counted


def test_the_bulk_path_keeps_the_figures_right(purposes, policy, support_agent):
    """Shuffled batches through intake (the API's events path): grants, withdrawals, stops, some refused."""
    rng = random.Random(11)
    actor = SystemActor("test")
    subjects = [DataSubjectFactory(registered_at=MONTH_ENDS[0] - timedelta(days=60)) for _n in range(8)]
    for batch in range(4):
        items = []
        for number in range(30):
            subject, purpose = rng.choice(subjects), rng.choice(purposes)
            at = moment_near_the_report(rng)
            kind = rng.choice("ggwws")
            key = f"{batch}-{number}"
            if kind == "g":
                term = rng.choice([None, at + timedelta(days=rng.randint(1, 90))])
                items.append(intake.Grant(key=key, subject=subject, purpose=purpose, occurred_at=at, evidence=APP,
                                          policy_version=policy, reason="app", expires_at=term,
                                          recipient_kind=rng.choice(["", "", "", "processor"])))
            elif kind == "w":
                items.append(intake.Withdrawal(key=key, subject=subject, purpose=purpose, occurred_at=at,
                                               evidence=APP, reason="app"))
            else:
                items.append(intake.Stop(key=key, subject=subject, occurred_at=at, evidence=APP, reason="log-out"))
        locked = intake.lock_subjects_by_id(subject_ids={subject.pk for subject in subjects})
        for item in items:
            item.subject = locked[item.subject.pk]
        result = intake.intake_apply(items=items, actor=actor)
        assert len(result.refused) < len(items)
        if batch == 1:
            figures.figures_fold()
        assert_figures_agree(purposes, ledger_moments())
    assert ConsentEvent.objects.filter(kind="withdraw").exists()
    assert any(figures.in_force_counts([purposes[0].pk], MONTH_ENDS).get(purposes[0].pk, []))


def test_a_rebuild_from_the_ledger_gives_the_same_figures(purposes, policy, support_agent):
    random_ledgers(random.Random(5), purposes, policy, support_agent, subjects=6)
    figures.figures_fold()
    moments = [*MONTH_ENDS[:-1], timezone.now()]
    kept = figures.in_force_counts([purpose.pk for purpose in purposes], moments)
    ConsentFigure.objects.all().delete()
    ConsentFigureChange.objects.all().delete()
    assert figures.figures_drift() != []
    figures.fill_from_ledger()
    assert figures.in_force_counts([purpose.pk for purpose in purposes], moments) == kept
    assert_figures_agree(purposes)


def test_verify_audit_names_a_figure_that_drifted(purposes, policy, support_agent):
    random_ledgers(random.Random(8), purposes, policy, support_agent, subjects=3)
    figures.figures_fold()
    assert not [finding for finding in tamper.verify().findings if finding.table == ConsentFigure._meta.db_table]
    figure = ConsentFigure.objects.order_by("day").first()
    ConsentFigure.objects.filter(pk=figure.pk).update(change=F("change") + 1)  # behind the application's back
    drifted = [finding for finding in tamper.verify().findings if finding.table == ConsentFigure._meta.db_table]
    assert [finding.row_id for finding in drifted] == [figure.purpose_id]
    assert f"{figure.day:%d.%m.%Y}" in drifted[0].problem


def test_the_figures_take_two_queries_however_long_the_ledger(purposes, policy, support_agent,
                                                               django_assert_num_queries):
    rng = random.Random(9)
    ids = [purpose.pk for purpose in purposes]
    random_ledgers(rng, purposes, policy, support_agent, subjects=2)
    figures.figures_fold()
    with django_assert_num_queries(2):
        small = figures.in_force_counts(ids, reports.month_ends(12))
    random_ledgers(rng, purposes, policy, support_agent, subjects=12)
    with django_assert_num_queries(2):
        large = figures.in_force_counts(ids, reports.month_ends(12))
    assert sum(map(sum, large.values())) > sum(map(sum, small.values()))


def test_the_report_shows_the_numbers_of_the_ledger_on_the_demo_data(settings):
    from tests.test_demo import DEMO_COMMANDS

    settings.DEBUG = True
    for command in DEMO_COMMANDS:
        call_command(command, stdout=StringIO())
    assert ConsentEvent.objects.exists()
    moments = reports.month_ends(12)
    shown = reports.consent_rates()
    ids = [purpose.pk for purpose, _points in shown]
    from_ledger = reports.consents_in_force_per_purpose(ids, [point.moment for point in shown[0][1]])
    assert [[point.granted for point in points] for _purpose, points in shown] == [
        from_ledger.get(purpose_id, [0] * len(moments)) for purpose_id in ids]
    assert sum(point.granted for _purpose, points in shown for point in points) > 0
    assert DataSubject.objects.exists()
    assert figures.figures_drift() == []
