"""Who may do what with the registers of clause 1.7.1: compliance keeps them, auditors read them and
their history, support agents do not see them; nobody deletes an incident."""

import pytest
from django.urls import reverse

from shipex_privacy.accounts.roles import AUDITOR, COMPLIANCE_OFFICER, ROLE_PERMISSIONS, SUPPORT_AGENT
from tests.accounts.factories import StaffFactory
from tests.protection.factories import IncidentFactory, MeasureFactory

pytestmark = pytest.mark.django_db

ALLOW, DENY = 200, 403

# The object pages of both registers (changelist and add pages are rows of tests/accounts/test_roles.py).
# POSTs send an empty form: allowed users get the form back with errors (200), others are refused (403).
MATRIX = [
    # page                               method  compliance  support  auditor
    ("admin:protection_measure_change", "get", ALLOW, DENY, ALLOW),
    ("admin:protection_measure_change", "post", ALLOW, DENY, DENY),
    ("admin:protection_measure_history", "get", ALLOW, DENY, ALLOW),
    ("admin:protection_measure_delete", "get", ALLOW, DENY, DENY),
    ("admin:protection_incident_change", "get", ALLOW, DENY, ALLOW),
    ("admin:protection_incident_change", "post", ALLOW, DENY, DENY),
    ("admin:protection_incident_history", "get", ALLOW, DENY, ALLOW),
    ("admin:protection_incident_delete", "get", DENY, DENY, DENY),
    ("admin:protection_incident_delete", "post", DENY, DENY, DENY),
]
CASES = [
    pytest.param(role, page, method, expected[index], id=f"{role}-{page.split(':')[1]}-{method}")
    for page, method, *expected in MATRIX
    for index, role in enumerate((COMPLIANCE_OFFICER, SUPPORT_AGENT, AUDITOR))
]


@pytest.mark.parametrize(("role", "page", "method", "expected"), CASES)
def test_permission_matrix(client, role, page, method, expected):
    obj = MeasureFactory() if "_measure_" in page else IncidentFactory()
    client.force_login(StaffFactory(role=role))
    url = reverse(page, args=[obj.pk])
    response = client.post(url, {}) if method == "post" else client.get(url)
    assert response.status_code == expected, f"{role} {method.upper()} {url}"


def test_auditors_read_the_registers_and_their_history_and_write_nothing():
    granted = {permission for permission in ROLE_PERMISSIONS[AUDITOR] if permission.startswith("protection.")}
    assert granted == {
        f"protection.view_{model}" for model in (
            "measure", "incident", "incidentfield", "incidentsubject", "historicalmeasure", "historicalincident",
            "historicalincidentfield", "historicalincidentsubject",
        )
    }


def test_nobody_may_delete_an_incident_and_support_agents_see_neither_register():
    assert not any("protection.delete_incident" in permissions for permissions in ROLE_PERMISSIONS.values())
    assert not any(permission.startswith("protection.") for permission in ROLE_PERMISSIONS[SUPPORT_AGENT])


def test_an_auditor_sees_an_incident_without_a_save_button(client, auditor):
    incident = IncidentFactory()
    client.force_login(auditor)
    page = client.get(reverse("admin:protection_incident_change", args=[incident.pk])).content.decode()
    assert "delivery list lost in Chilonzor" in page
    assert 'name="_save"' not in page
    assert 'name="change_reason"' not in page
