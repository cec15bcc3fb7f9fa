"""Every step page of every app (core/steps.py) refuses a role that may only read, on GET and POST."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from shipex_privacy.accounts.roles import AUDITOR
from shipex_privacy.catalogue.models import Purpose
from shipex_privacy.consents.services import Evidence, consent_grant
from shipex_privacy.core.steps import StepAdminMixin
from tests.accounts.factories import StaffFactory
from tests.consents.factories import PolicyVersionFactory
from tests.disclosures.factories import DisclosureFactory
from tests.retention.factories import LegalHoldFactory
from tests.rights_requests.factories import SubjectRequestFactory
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def records():
    """One record of every model that has step pages."""
    policy = PolicyVersionFactory(published=True)
    consent = consent_grant(subject=DataSubjectFactory(), purpose=Purpose.objects.get(clause="1.3.2.5"),
                            policy_version=policy, actor=None, occurred_at=timezone.now() - timedelta(days=1),
                            evidence=Evidence(channel="app")).consent
    return [PolicyVersionFactory(), consent, DisclosureFactory(), SubjectRequestFactory(), LegalHoldFactory()]


def step_pages(records):
    reverse("admin:index")  # the admin's URLs, and so each admin's step names, are built
    by_model = {type(record): record for record in records}
    for model, model_admin in admin.site._registry.items():
        if not isinstance(model_admin, StepAdminMixin):
            continue
        assert model_admin.step_names, model._meta.label
        record = by_model[model]  # a new admin with steps needs its record in the fixture
        for name in model_admin.step_names:
            yield name, reverse(f"admin:{name}", args=[record.pk]), record


def test_an_auditor_gets_403_on_every_step_page(client, records):
    client.force_login(StaffFactory(role=AUDITOR))
    walked = set()
    for name, url, record in step_pages(records):
        before = type(record)._default_manager.filter(pk=record.pk).values().get()
        assert client.get(url).status_code == 403, name
        assert client.post(url, {"reason": "x", "term": "x", "status": "refused"}).status_code == 403, name
        assert type(record)._default_manager.filter(pk=record.pk).values().get() == before, name
        walked.add(name)
    # The four apps' steps, all through the one mechanism.
    assert {"consents_policyversion_publish", "consents_consent_withdraw", "disclosures_disclosure_approve",
            "retention_legalhold_release", "rights_requests_subjectrequest_erase"} <= walked
    assert len(walked) >= 19


def test_a_step_page_of_a_missing_record_is_404(client, compliance_officer):
    client.force_login(compliance_officer)
    assert client.get(reverse("admin:rights_requests_subjectrequest_move", args=[10**9])).status_code == 404
