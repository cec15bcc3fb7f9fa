"""Deadlines: the seeded table, calendar vs working days, and due dates fixed on arrival."""

from datetime import UTC, date, datetime, time

import pytest
from django.utils import timezone

from shipex_privacy.audit.services import record_save
from shipex_privacy.rights_requests.models import TO_BE_CONFIRMED, DayCount, DeadlineRule, SubjectRequest, add_days
from shipex_privacy.rights_requests.services import request_receive

pytestmark = pytest.mark.django_db

FRIDAY = date(2026, 11, 20)
C, W = DayCount.CALENDAR, DayCount.WORKING


def tashkent(day: date, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


@pytest.mark.parametrize(("start", "days", "count", "due"), [
    (FRIDAY, 1, C, date(2026, 11, 21)),              # calendar: Saturday counts
    (FRIDAY, 1, W, date(2026, 11, 23)),              # working: Friday + 1 is Monday
    (FRIDAY, 3, C, date(2026, 11, 23)),              # correction, calendar: Monday
    (FRIDAY, 3, W, date(2026, 11, 25)),              # correction, working: Wednesday
    (FRIDAY, 10, W, date(2026, 12, 4)),              # refusal, working: two weeks later
    (FRIDAY, 30, C, date(2026, 12, 20)),
    (date(2026, 11, 21), 1, W, date(2026, 11, 23)),  # received on Saturday: Monday
    (date(2026, 11, 22), 1, W, date(2026, 11, 23)),  # received on Sunday: Monday
    (date(2026, 11, 18), 3, W, date(2026, 11, 23)),  # Wednesday + 3 working days skips the weekend
    (date(2026, 12, 31), 1, C, date(2027, 1, 1)),    # public holidays are out of scope: not skipped
])
def test_calendar_and_working_days(start, days, count, due):
    assert add_days(start, days, count) == due


def test_the_seeded_table_follows_zru_547_and_awaits_counsel():
    rules = {rule.kind: rule for rule in DeadlineRule.objects.all()}
    assert set(rules) == {*SubjectRequest.Kind.values, DeadlineRule.REFUSAL}
    assert {kind: rule.days for kind, rule in rules.items() if rule.days != 30} == {"correction": 3, "refusal": 10}
    assert "art. 11" in rules["correction"].legal_reference and "art. 22" in rules["refusal"].legal_reference
    assert {rule.day_count for rule in rules.values()} == {DayCount.CALENDAR}
    assert {rule.note for rule in rules.values()} == {TO_BE_CONFIRMED}
    assert all(rule.history.filter(history_type="+").count() == 1 for rule in rules.values())


def test_a_request_is_due_at_the_end_of_its_last_day_in_tashkent(support_agent):
    request = request_receive(kind="correction", channel="phone", received_at=tashkent(FRIDAY, 18),
                              actor=support_agent)
    assert timezone.localtime(request.due_at) == timezone.make_aware(datetime(2026, 11, 23, 23, 59, 59))
    assert timezone.localdate(request.refuse_by) == date(2026, 11, 30)  # written refusal: 10 days


def test_the_day_of_receipt_is_the_tashkent_day(support_agent):
    # 20:30 UTC on Thursday is already Friday 01:30 in Tashkent.
    received = datetime(2026, 11, 19, 20, 30, tzinfo=UTC)
    request = request_receive(kind="correction", channel="app", received_at=received, actor=support_agent)
    assert timezone.localdate(request.due_at) == date(2026, 11, 23)


def test_working_days_once_counsel_says_so_apply_to_new_requests_only(compliance_officer, support_agent):
    before = request_receive(kind="correction", channel="app", received_at=tashkent(FRIDAY), actor=support_agent)
    rule = DeadlineRule.objects.get(kind="correction")
    rule.day_count = DayCount.WORKING
    record_save(instance=rule, actor=compliance_officer, reason="Counsel: art. 11 counts working days")
    after = request_receive(kind="correction", channel="app", received_at=tashkent(FRIDAY), actor=support_agent)
    assert timezone.localdate(before.due_at) == date(2026, 11, 23)
    assert timezone.localdate(after.due_at) == date(2026, 11, 25)
    assert rule.history.latest().history_username == "nodira"
