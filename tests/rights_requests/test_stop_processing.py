"""Stop / log-out (1.5.2): the subject is logged out and consent-based processing stops, on record."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from shipex_privacy.catalogue.models import Purpose
from shipex_privacy.consents.models import Consent
from shipex_privacy.consents.services import Evidence, consent_grant
from shipex_privacy.rights_requests.services import (
    request_receive,
    request_stop_processing,
    request_verify_identity,
)
from shipex_privacy.subjects.models import DataSubject
from tests.consents.factories import PolicyVersionFactory
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db


def stop_request(agent, subject, *, verified=True):
    request = request_receive(kind="stop", channel="phone", actor=agent, subject=subject)
    if verified:
        request = request_verify_identity(request=request, method="sms_code", actor=agent)
    return request


def test_stopping_logs_the_subject_out_and_withdraws_every_consent_in_force(support_agent):
    subject = DataSubjectFactory()
    consent_grant(subject=subject, purpose=Purpose.objects.get(clause="1.3.2.5"), actor=None,
                  occurred_at=timezone.now() - timedelta(days=30), evidence=Evidence(channel="app"),
                  policy_version=PolicyVersionFactory(published=True))
    request = stop_request(support_agent, subject)

    request_stop_processing(request=request, actor=support_agent)

    subject.refresh_from_db()
    assert subject.status == DataSubject.Status.LOGGED_OUT and subject.status_changed_at is not None
    assert subject.history.latest().history_change_reason == f"Request #{request.pk}: processing stopped (1.5.2)"
    consent = Consent.objects.get(subject=subject)
    assert not consent.is_in_force()
    withdrawal = consent.events.get(kind="withdraw")
    assert (withdrawal.channel, withdrawal.evidence_reference, withdrawal.recorded_by_username) == (
        "call_centre", f"DSR #{request.pk}", support_agent.username)
    assert "1 consents withdrawn" in request.history.latest().history_change_reason


def test_stopping_twice_changes_nothing_more(support_agent):
    subject = DataSubjectFactory()
    request = stop_request(support_agent, subject)
    request_stop_processing(request=request, actor=support_agent)
    subject_rows = subject.history.count()
    request_stop_processing(request=request, actor=support_agent)
    assert subject.history.count() == subject_rows


@pytest.mark.parametrize(("situation", "message"), [
    ("identity not verified", "verify the requester's identity"),
    ("another kind of request", "this step is for: Stop processing"),
])
def test_stopping_is_refused_until_the_request_allows_it(support_agent, situation, message):
    subject = DataSubjectFactory()
    if situation == "another kind of request":
        request = request_receive(kind="access", channel="app", actor=support_agent, subject=subject)
        request = request_verify_identity(request=request, method="sms_code", actor=support_agent)
    else:
        request = stop_request(support_agent, subject, verified=False)
    with pytest.raises(ValidationError, match=message):
        request_stop_processing(request=request, actor=support_agent)
    subject.refresh_from_db()
    assert subject.status == DataSubject.Status.ACTIVE


def test_the_agent_stops_processing_from_the_request_page(client, support_agent):
    subject = DataSubjectFactory()
    request = stop_request(support_agent, subject)
    client.force_login(support_agent)
    page = client.get(reverse("admin:rights_requests_subjectrequest_change", args=[request.pk])).content.decode()
    url = reverse("admin:rights_requests_subjectrequest_stop", args=[request.pk])
    assert f'href="{url}"' in page
    assert client.post(url, {}).status_code == 302
    subject.refresh_from_db()
    assert subject.status == DataSubject.Status.LOGGED_OUT
