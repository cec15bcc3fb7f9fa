"""The complete permission matrix: every registered admin page and action, for every role.

The hand-written table in test_roles.py says what each role does; this walk makes sure nothing
registered later slips past the two rules the design cannot bend: auditors never write anything
anywhere, and support agents never touch the catalogue, recipients or registers.
"""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from shipex_privacy.accounts.roles import AUDITOR, COMPLIANCE_OFFICER, SUPPORT_AGENT
from tests.accounts.factories import StaffFactory
from tests.consents.factories import PolicyVersionFactory
from tests.disclosures.factories import DisclosureFactory
from tests.retention.factories import LegalHoldFactory
from tests.rights_requests.factories import SubjectRequestFactory
from tests.subjects.factories import AddressFactory

pytestmark = pytest.mark.django_db

# Apps and models a support agent has no business in (design.md, "Roles").
OFF_LIMITS_FOR_SUPPORT = {
    "catalogue", "protection", "disclosures.recipient", "consents.cookie", "consents.counter",
    "audit.accessevent", "audit.trailentry",
}
DENIED = (302, 403)  # refused, or sent to the login page

# Write pages outside the standard add/change/delete views, with the object they need.
CUSTOM_WRITES = [
    ("admin:consents_policyversion_publish", "policy"),
    ("admin:consents_consent_grant", None),
    ("admin:consents_consent_import", None),
    ("admin:disclosures_disclosure_submit", "disclosure"),
    ("admin:disclosures_disclosure_approve", "disclosure"),
    ("admin:disclosures_disclosure_return", "disclosure"),
    ("admin:disclosures_disclosure_send", "disclosure"),
    ("admin:disclosures_disclosure_correct", "disclosure"),
    *((f"admin:rights_requests_subjectrequest_{step}", "request")
      for step in ("match", "verify", "move", "extend", "pause", "resume", "stop", "correct", "build", "erase")),
    ("admin:retention_legalhold_release", "hold"),
]


@pytest.fixture
def records():
    AddressFactory()
    return {"policy": PolicyVersionFactory(), "disclosure": DisclosureFactory(), "request": SubjectRequestFactory(),
            "hold": LegalHoldFactory()}


def some_object(model_admin):
    return model_admin.model._base_manager.order_by("pk").first()


def registered():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def off_limits(model) -> bool:
    return model._meta.app_label in OFF_LIMITS_FOR_SUPPORT or model._meta.label_lower in OFF_LIMITS_FOR_SUPPORT


def test_auditors_never_write_anywhere(client, records):
    auditor = StaffFactory(role=AUDITOR)
    client.force_login(auditor)
    request = RequestFactory().get("/admin/")
    request.user = auditor
    for model, model_admin in registered():
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        label = model._meta.label
        assert not model_admin.has_add_permission(request), label
        assert client.get(reverse(f"admin:{info}_add")).status_code in DENIED, label
        if model_admin.has_view_permission(request):  # a list the auditor can open offers no action
            assert not list(model_admin.get_actions(request)), label
        else:
            assert client.get(reverse(f"admin:{info}_changelist")).status_code in DENIED, label
        obj = some_object(model_admin)
        if obj is None:
            continue
        assert not model_admin.has_change_permission(request, obj), label
        assert not model_admin.has_delete_permission(request, obj), label
        change = reverse(f"admin:{info}_change", args=[obj.pk])
        assert client.post(change, {}).status_code in DENIED, label
        assert client.post(reverse(f"admin:{info}_delete", args=[obj.pk]), {"post": "yes"}).status_code in DENIED
    for name, needs in CUSTOM_WRITES:
        url = reverse(name, args=[records[needs].pk]) if needs else reverse(name)
        assert client.post(url, {}).status_code in DENIED, name


def test_support_agents_never_touch_the_catalogue_recipients_or_registers(client, records):
    agent = StaffFactory(role=SUPPORT_AGENT)
    client.force_login(agent)
    walked = 0
    for model, model_admin in registered():
        if not off_limits(model):
            continue
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        assert client.get(reverse(f"admin:{info}_changelist")).status_code in DENIED, model._meta.label
        assert client.get(reverse(f"admin:{info}_add")).status_code in DENIED, model._meta.label
        obj = some_object(model_admin)
        if obj is not None:
            assert client.get(reverse(f"admin:{info}_change", args=[obj.pk])).status_code in DENIED
        walked += 1
    assert walked >= 10


@pytest.mark.parametrize("role", [COMPLIANCE_OFFICER, SUPPORT_AGENT, AUDITOR])
def test_every_page_a_role_may_open_opens(client, role, records):
    """No registered list or record page of any role ends in a server error."""
    client.force_login(StaffFactory(role=role))
    for model, model_admin in registered():
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        assert client.get(reverse(f"admin:{info}_changelist")).status_code in (200, 302, 403), model._meta.label
        obj = some_object(model_admin)
        if obj is not None:
            status = client.get(reverse(f"admin:{info}_change", args=[obj.pk])).status_code
            assert status in (200, 302, 403), model._meta.label
