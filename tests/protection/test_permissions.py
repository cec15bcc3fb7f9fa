"""Who may do what with the registers of clause 1.7.1: compliance keeps them, auditors read them and
their history, support agents do not see them (nor change them); nobody deletes an incident, a
protection level or an appointment of the responsible person."""

import pytest
from django.urls import reverse

from shipex_privacy.accounts.roles import AUDITOR, COMPLIANCE_OFFICER, ROLE_PERMISSIONS, SUPPORT_AGENT
from tests.accounts.factories import StaffFactory
from tests.protection.factories import (
    IncidentFactory,
    MeasureFactory,
    ProtectionLevelFactory,
    ResponsiblePersonFactory,
)

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
    ("admin:protection_protectionlevel_changelist", "get", ALLOW, DENY, ALLOW),
    ("admin:protection_protectionlevel_add", "get", ALLOW, DENY, DENY),
    ("admin:protection_protectionlevel_change", "get", ALLOW, DENY, ALLOW),
    ("admin:protection_protectionlevel_change", "post", ALLOW, DENY, DENY),
    ("admin:protection_protectionlevel_history", "get", ALLOW, DENY, ALLOW),
    ("admin:protection_protectionlevel_delete", "get", DENY, DENY, DENY),
    ("admin:protection_responsibleperson_changelist", "get", ALLOW, DENY, ALLOW),
    ("admin:protection_responsibleperson_add", "get", ALLOW, DENY, DENY),
    ("admin:protection_responsibleperson_change", "get", ALLOW, DENY, ALLOW),
    ("admin:protection_responsibleperson_change", "post", ALLOW, DENY, DENY),
    ("admin:protection_responsibleperson_history", "get", ALLOW, DENY, ALLOW),
    ("admin:protection_responsibleperson_delete", "get", DENY, DENY, DENY),
    ("admin:protection_responsibleperson_delete", "post", DENY, DENY, DENY),
]
FACTORIES = {"measure": MeasureFactory, "incident": IncidentFactory, "protectionlevel": ProtectionLevelFactory,
             "responsibleperson": ResponsiblePersonFactory}
CASES = [
    pytest.param(role, page, method, expected[index], id=f"{role}-{page.split(':')[1]}-{method}")
    for page, method, *expected in MATRIX
    for index, role in enumerate((COMPLIANCE_OFFICER, SUPPORT_AGENT, AUDITOR))
]


@pytest.mark.parametrize(("role", "page", "method", "expected"), CASES)
def test_permission_matrix(client, role, page, method, expected):
    model = page.split(":")[1].split("_")[1]
    obj = FACTORIES[model]()
    client.force_login(StaffFactory(role=role))
    url = reverse(page) if page.endswith(("_changelist", "_add")) else reverse(page, args=[obj.pk])
    response = client.post(url, {}) if method == "post" else client.get(url)
    assert response.status_code == expected, f"{role} {method.upper()} {url}"


def test_auditors_read_the_registers_and_their_history_and_write_nothing():
    granted = {permission for permission in ROLE_PERMISSIONS[AUDITOR] if permission.startswith("protection.")}
    assert granted == {
        f"protection.view_{model}" for model in (
            "measure", "incident", "incidentfield", "incidentsubject", "historicalmeasure", "historicalincident",
            "historicalincidentfield", "historicalincidentsubject", "protectionlevel", "responsibleperson",
            "historicalprotectionlevel", "historicalresponsibleperson",
        )
    }


def test_nobody_may_delete_an_incident_a_level_or_an_appointment_and_support_agents_see_no_register():
    for model in ("incident", "protectionlevel", "responsibleperson"):
        assert not any(f"protection.delete_{model}" in permissions for permissions in ROLE_PERMISSIONS.values())
    assert not any(permission.startswith("protection.") for permission in ROLE_PERMISSIONS[SUPPORT_AGENT])


def test_an_auditor_sees_an_incident_without_a_save_button(client, auditor):
    incident = IncidentFactory()
    client.force_login(auditor)
    page = client.get(reverse("admin:protection_incident_change", args=[incident.pk])).content.decode()
    assert "delivery list lost in Chilonzor" in page
    assert 'name="_save"' not in page
    assert 'name="change_reason"' not in page


def test_a_support_agent_cannot_change_the_responsible_person(client, support_agent):
    person = ResponsiblePersonFactory()
    client.force_login(support_agent)
    url = reverse("admin:protection_responsibleperson_change", args=[person.pk])
    assert client.post(url, {"name": "Someone else", "change_reason": "x"}).status_code == DENY
    person.refresh_from_db()
    assert person.name == "Dilshod Karimov"


def test_an_auditor_reads_a_protection_level_without_a_save_button(client, auditor):
    level = ProtectionLevelFactory()
    client.force_login(auditor)
    page = client.get(reverse("admin:protection_protectionlevel_change", args=[level.pk])).content.decode()
    assert "no special or biometric data" in page
    assert 'name="_save"' not in page
