"""The stop step on its own (rights_requests.services.subject_stop_processing), as the events endpoint's
``subject.logged_out`` uses it: no request, the app's evidence on each withdrawal, the caller's event."""

from datetime import timedelta

import pytest
from django.utils import timezone

from shipex_privacy.audit.events import ApiActor, AuditEvent
from shipex_privacy.audit.models import TrailEntry
from shipex_privacy.catalogue.models import Purpose
from shipex_privacy.consents.models import Consent
from shipex_privacy.consents.services import Evidence, consent_grant
from shipex_privacy.rights_requests.services import subject_stop_processing
from shipex_privacy.subjects.models import DataSubject
from tests.consents.factories import PolicyVersionFactory
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db


def test_a_log_out_in_the_app_stops_processing_with_the_apps_evidence():
    subject = DataSubjectFactory()
    policy = PolicyVersionFactory(published=True)
    consent_grant(subject=subject, purpose=Purpose.objects.get(clause="1.3.2.5"), actor=None,
                  occurred_at=timezone.now() - timedelta(days=3), evidence=Evidence(channel="app"),
                  policy_version=policy)
    actor, now = ApiActor("mobile-app"), timezone.now()
    evidence = Evidence(channel="app", ip_address="213.230.10.20", reference="event e-17")

    withdrawn = subject_stop_processing(subject=subject, actor=actor, reason="Logged out in the app (1.5.2)",
                                        event=AuditEvent.SUBJECT_LOGGED_OUT, now=now, evidence=evidence)

    assert withdrawn == 1
    subject.refresh_from_db()
    assert (subject.status, subject.status_changed_at) == (DataSubject.Status.LOGGED_OUT, now)
    row = subject.history.latest()
    assert (row.history_username, row.history_change_reason) == ("api:mobile-app", "Logged out in the app (1.5.2)")
    assert TrailEntry.objects.get(model="subjects.datasubject", history_id=row.history_id).event == \
        AuditEvent.SUBJECT_LOGGED_OUT
    for consent in Consent.objects.filter(subject=subject):
        event = consent.events.get(kind="withdraw")
        assert not consent.is_in_force() and event.occurred_at == now
        assert (event.channel, event.ip_address, event.evidence_reference, event.recorded_by_username) == (
            "app", "213.230.10.20", "event e-17", "api:mobile-app")


def test_stopping_a_logged_out_subject_again_changes_nothing():
    subject = DataSubjectFactory(status=DataSubject.Status.LOGGED_OUT)
    rows = subject.history.count()
    assert subject_stop_processing(subject=subject, actor=ApiActor("mobile-app"), reason="Again",
                                   event=AuditEvent.SUBJECT_LOGGED_OUT, now=timezone.now()) == 0
    assert subject.history.count() == rows
