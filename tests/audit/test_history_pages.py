"""History pages are read, never posted: no role, not even a superuser, reverts a record through them.

simple-history's page of one old version saves a POSTed form; a withdrawn consent posted back
through it came back granted while its ledger still said withdrawn. Every admin of a tracked model
now extends ``HistoryAdmin`` (the ``audit.E001`` check holds that), and this walk POSTs to the
history-form URL of every one of them, as every role.
"""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.core import checks
from django.urls import reverse
from django.utils import timezone

from shipex_privacy.accounts.roles import AUDITOR, COMPLIANCE_OFFICER, SUPPORT_AGENT
from shipex_privacy.audit.admin import HistoryAdmin
from shipex_privacy.audit.checks import check_history_admins
from shipex_privacy.audit.trail import audited_history_models
from shipex_privacy.catalogue.models import Purpose
from shipex_privacy.consents.models import Consent
from shipex_privacy.consents.services import Evidence, consent_grant, consent_withdraw, policy_accept
from tests.accounts.factories import StaffFactory
from tests.consents.factories import PolicyVersionFactory
from tests.disclosures.factories import DisclosureFactory
from tests.retention.factories import LegalHoldFactory
from tests.rights_requests.factories import SubjectRequestFactory
from tests.subjects.factories import AddressFactory

pytestmark = pytest.mark.django_db

APP = Evidence(channel="app", ip_address="213.230.10.20", user_agent="ShipEx/5.2 (Android 14)")


@pytest.fixture
def withdrawn_consent(compliance_officer):
    subject = AddressFactory().subject
    policy = PolicyVersionFactory(published=True)
    policy_accept(subject=subject, version=policy, accepted_at=timezone.now() - timedelta(days=3), channel="app",
                  actor=compliance_officer)
    grant = consent_grant(subject=subject, purpose=Purpose.objects.get(clause="1.3.2.5"), evidence=APP,
                          occurred_at=timezone.now() - timedelta(days=2), policy_version=policy,
                          actor=compliance_officer)
    consent_withdraw(consent=grant.consent, occurred_at=timezone.now() - timedelta(days=1), evidence=APP,
                     actor=compliance_officer)
    return grant.consent


@pytest.fixture
def records(withdrawn_consent):
    DisclosureFactory()
    SubjectRequestFactory()
    LegalHoldFactory()
    return withdrawn_consent


def history_rows() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in audited_history_models()}


def tracked_admins():
    return sorted(
        ((model, model_admin) for model, model_admin in admin.site._registry.items()
         if getattr(model._meta, "simple_history_manager_attribute", None)),
        key=lambda item: item[0]._meta.label,
    )


def test_every_admin_of_a_tracked_model_is_built_on_the_history_base():
    assert tracked_admins()
    for model, model_admin in tracked_admins():
        assert isinstance(model_admin, HistoryAdmin), model._meta.label
    assert check_history_admins() == []


def test_the_check_names_an_admin_that_is_not(monkeypatch):
    from simple_history.admin import SimpleHistoryAdmin

    model = Consent
    monkeypatch.setitem(admin.site._registry, model, SimpleHistoryAdmin(model, admin.site))
    errors = check_history_admins()
    assert [error.id for error in errors] == ["audit.E001"]
    assert isinstance(errors[0], checks.Error) and "consents.Consent" in errors[0].msg


@pytest.mark.parametrize("role", [COMPLIANCE_OFFICER, SUPPORT_AGENT, AUDITOR, "superuser"])
def test_no_role_posts_through_a_history_page(client, role, records):
    staff = StaffFactory(is_superuser=True) if role == "superuser" else StaffFactory(role=role)
    client.force_login(staff)
    before = history_rows()
    walked = 0
    for model, _model_admin in tracked_admins():
        obj = model._base_manager.order_by("pk").first()
        if obj is None:
            continue
        version = obj.history.order_by("history_id").first()
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_simple_history",
                      args=[obj.pk, version.history_id])
        response = client.post(url, {})
        assert response.status_code == 403, (model._meta.label, response.status_code)
        walked += 1
    assert walked >= 15
    assert history_rows() == before  # no new history row anywhere

    records.refresh_from_db()
    assert records.state == Consent.State.WITHDRAWN and records.withdrawn_at is not None
