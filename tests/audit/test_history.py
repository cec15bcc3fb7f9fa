"""History names who acted, from where and why, and outlives the staff account that acted."""

import pytest
from django.test import RequestFactory
from simple_history.models import HistoricalRecords

from shipex_privacy.audit.services import record_save
from tests.accounts.factories import StaffFactory
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db


def test_history_keeps_the_actor_after_the_staff_account_is_deleted(support_agent):
    subject = DataSubjectFactory()
    subject.full_name = "Ergasheva Sevara Islom qizi"
    record_save(instance=subject, actor=support_agent, reason="DSR #12: name corrected")
    agent_id, agent_username = support_agent.pk, support_agent.username

    support_agent.delete()

    latest = subject.history.latest()
    assert (latest.history_user_id, latest.history_username) == (agent_id, agent_username)
    assert latest.history_user is None  # the account is gone; its name is still on record


def test_history_records_the_request_address():
    subject = DataSubjectFactory()
    request = RequestFactory().post("/admin/", REMOTE_ADDR="10.20.30.40")
    request.user = StaffFactory()
    HistoricalRecords.context.request = request
    try:
        subject.email = "new.address@mail.uz"
        record_save(instance=subject, actor=request.user, reason="DSR #13: new e-mail")
    finally:
        del HistoricalRecords.context.request
    latest = subject.history.latest()
    assert (latest.history_ip, latest.history_username) == ("10.20.30.40", request.user.username)


def test_writes_outside_a_request_have_no_address():
    subject = DataSubjectFactory()
    assert subject.history.get().history_ip is None
