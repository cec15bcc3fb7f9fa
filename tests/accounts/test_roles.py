"""Roles are kept in code; the permission matrix is a table of role × admin page × action."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from shipex_privacy.accounts.roles import AUDITOR, COMPLIANCE_OFFICER, ROLE_PERMISSIONS, ROLES, SUPPORT_AGENT
from shipex_privacy.catalogue.models import PersonalDataField
from tests.accounts.factories import StaffFactory
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db

ALLOW, DENY = 200, 403


@pytest.mark.parametrize("role", ROLES)
def test_each_role_has_exactly_the_permissions_in_code(role):
    group = Group.objects.get(name=role)
    granted = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}
    assert granted == ROLE_PERMISSIONS[role]


def test_auditors_can_only_read():
    # Revealing a masked identifier is a read too, logged with its reason.
    reads = {permission for permission in ROLE_PERMISSIONS[AUDITOR] if ".view_" in permission}
    assert ROLE_PERMISSIONS[AUDITOR] - reads == {"subjects.reveal_identifiers"}


def test_support_agents_cannot_touch_the_catalogue():
    assert not any(permission.startswith("catalogue.") for permission in ROLE_PERMISSIONS[SUPPORT_AGENT])


# (admin page, HTTP method) → what each role gets. POSTs to change pages send an empty form:
# allowed users get the form back with errors (200), others are refused (403).
MATRIX = [
    # page                                method  compliance  support  auditor
    ("admin:subjects_datasubject_changelist", "get", ALLOW, ALLOW, ALLOW),
    ("admin:subjects_datasubject_add", "get", DENY, ALLOW, DENY),
    ("admin:subjects_datasubject_change", "get", ALLOW, ALLOW, ALLOW),
    ("admin:subjects_datasubject_change", "post", DENY, ALLOW, DENY),
    ("admin:subjects_datasubject_history", "get", ALLOW, ALLOW, ALLOW),
    ("admin:subjects_datasubject_delete", "get", DENY, DENY, DENY),
    ("admin:catalogue_personaldatafield_changelist", "get", ALLOW, DENY, ALLOW),
    ("admin:catalogue_personaldatafield_add", "get", ALLOW, DENY, DENY),
    ("admin:catalogue_personaldatafield_change", "get", ALLOW, DENY, ALLOW),
    ("admin:catalogue_personaldatafield_change", "post", ALLOW, DENY, DENY),
    ("admin:catalogue_personaldatafield_history", "get", ALLOW, DENY, ALLOW),
    ("admin:catalogue_personaldatafield_delete", "get", ALLOW, DENY, DENY),
    ("admin:catalogue_purpose_changelist", "get", ALLOW, DENY, ALLOW),
    ("admin:catalogue_purpose_add", "get", ALLOW, DENY, DENY),
    ("admin:catalogue_retentionrule_changelist", "get", ALLOW, DENY, ALLOW),
    ("admin:catalogue_system_changelist", "get", ALLOW, DENY, ALLOW),
    ("admin:consents_policyversion_changelist", "get", ALLOW, ALLOW, ALLOW),
    ("admin:consents_policyversion_add", "get", ALLOW, DENY, DENY),
    ("admin:consents_consent_changelist", "get", ALLOW, ALLOW, ALLOW),
    ("admin:consents_consent_grant", "get", ALLOW, ALLOW, DENY),
    ("admin:consents_consent_import", "get", ALLOW, ALLOW, DENY),
    ("admin:consents_consent_report", "get", ALLOW, ALLOW, ALLOW),
    ("admin:consents_consentevent_changelist", "get", ALLOW, ALLOW, ALLOW),
    ("admin:consents_subjectwithoutcurrentpolicy_changelist", "get", ALLOW, ALLOW, ALLOW),
    ("admin:consents_cookie_changelist", "get", ALLOW, DENY, ALLOW),
    ("admin:consents_cookie_add", "get", ALLOW, DENY, DENY),
    ("admin:consents_counter_changelist", "get", ALLOW, DENY, ALLOW),
    ("admin:consents_counter_add", "get", ALLOW, DENY, DENY),
    ("admin:consents_cookieconsentevent_changelist", "get", ALLOW, ALLOW, ALLOW),
    ("admin:disclosures_recipient_changelist", "get", ALLOW, DENY, ALLOW),
    ("admin:disclosures_recipient_add", "get", ALLOW, DENY, DENY),
    ("admin:disclosures_disclosure_changelist", "get", ALLOW, ALLOW, ALLOW),
    ("admin:disclosures_disclosure_add", "get", ALLOW, DENY, DENY),
    ("admin:disclosures_disclosure_ropa", "get", ALLOW, ALLOW, ALLOW),
    ("admin:disclosures_disclosedsubject_changelist", "get", ALLOW, ALLOW, ALLOW),
    ("admin:disclosures_disclosedsubject_overdue", "get", ALLOW, ALLOW, ALLOW),
    ("admin:catalogue_service_changelist", "get", ALLOW, DENY, ALLOW),
    ("admin:protection_measure_changelist", "get", ALLOW, DENY, ALLOW),
    ("admin:protection_measure_add", "get", ALLOW, DENY, DENY),
    ("admin:protection_incident_changelist", "get", ALLOW, DENY, ALLOW),
    ("admin:protection_incident_add", "get", ALLOW, DENY, DENY),
    ("admin:audit_accessevent_changelist", "get", ALLOW, DENY, ALLOW),
    ("admin:audit_accessevent_add", "get", DENY, DENY, DENY),
    ("admin:audit_trailentry_changelist", "get", ALLOW, DENY, ALLOW),
    ("admin:audit_trailentry_export", "get", ALLOW, DENY, ALLOW),
    ("admin:audit_trailentry_add", "get", DENY, DENY, DENY),
    ("admin:integrations_apiclient_changelist", "get", ALLOW, DENY, ALLOW),
    ("admin:integrations_apiclient_add", "get", ALLOW, DENY, DENY),
    ("admin:integrations_apitoken_changelist", "get", ALLOW, DENY, ALLOW),
    ("admin:integrations_apitoken_add", "get", DENY, DENY, DENY),
    ("admin:integrations_systemintegration_changelist", "get", ALLOW, DENY, ALLOW),
    ("admin:integrations_systemintegration_add", "get", ALLOW, DENY, DENY),
    ("admin:integrations_outboxmessage_changelist", "get", ALLOW, DENY, ALLOW),
    ("admin:integrations_outboxmessage_add", "get", DENY, DENY, DENY),
    ("admin:integrations_systemtask_changelist", "get", ALLOW, DENY, ALLOW),
    ("admin:integrations_systemtask_add", "get", DENY, DENY, DENY),
    ("admin:accounts_user_changelist", "get", DENY, DENY, DENY),
    ("admin:auth_group_changelist", "get", DENY, DENY, DENY),
]
CASES = [
    pytest.param(role, page, method, expected[index], id=f"{role}-{page.split(':')[1]}-{method}")
    for page, method, *expected in MATRIX
    for index, role in enumerate((COMPLIANCE_OFFICER, SUPPORT_AGENT, AUDITOR))
]


def object_args(page: str) -> list:
    if page.endswith(("_change", "_history", "_delete")):
        if "datasubject" in page:
            return [DataSubjectFactory().pk]
        return [PersonalDataField.objects.get(code="contact.email").pk]
    return []


@pytest.mark.parametrize(("role", "page", "method", "expected"), CASES)
def test_permission_matrix(client, role, page, method, expected):

    client.force_login(StaffFactory(role=role))

    url = reverse(page, args=object_args(page))
    response = client.post(url, {}) if method == "post" else client.get(url)
    # The admin answers a user with no access at all to a model's app index with 403 as well.
    assert response.status_code == expected, f"{role} {method.upper()} {url}"


def test_admin_index_shows_each_role_only_its_apps(client):

    expected = {
        COMPLIANCE_OFFICER: {"catalogue", "subjects", "consents", "disclosures", "audit", "protection",
                             "rights_requests", "retention", "integrations", "jobs", "django_celery_beat",
                             "notifications"},
        # Support agents choose their own mail from the header ("My e-mail"), not from the index.
        SUPPORT_AGENT: {"subjects", "consents", "disclosures", "rights_requests", "retention"},
        AUDITOR: {"catalogue", "subjects", "consents", "disclosures", "audit", "protection", "rights_requests",
                  "retention", "integrations", "jobs", "django_celery_beat", "notifications"},
    }
    for role, apps in expected.items():
        client.force_login(StaffFactory(role=role))
        shown = {app["app_label"] for app in client.get(reverse("admin:index")).context["app_list"]}
        assert shown == apps, role
