"""The authority is named once (core.authority) and every incident screen uses that name: the
Personalization Agency under the Ministry of Justice, formerly the State Personalization Centre."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from shipex_privacy.core.authority import AUTHORITY_NAME
from tests.protection.factories import IncidentFactory

pytestmark = pytest.mark.django_db

NAME = "Personalization Agency under the Ministry of Justice"


@pytest.fixture
def officer_client(client, compliance_officer):
    client.force_login(compliance_officer)
    client.cookies["django_language"] = "en"
    return client


def test_the_authority_has_its_current_name():
    assert str(AUTHORITY_NAME) == NAME


def test_the_incident_list_filters_and_shows_notifications_to_the_agency_by_name(officer_client):
    IncidentFactory(authority_notified_at=timezone.now() - datetime.timedelta(hours=1))
    page = officer_client.get(reverse("admin:protection_incident_changelist")).content.decode()
    assert page.count(NAME) >= 2  # the filter's choice and the "who was notified" column
    assert "State Personali" not in page


def test_the_incident_page_tells_staff_which_authority_to_notify(officer_client):
    incident = IncidentFactory()
    page = officer_client.get(reverse("admin:protection_incident_change", args=[incident.pk])).content.decode()
    assert f"When the {NAME} was notified." in page
    assert f"The reference number the {NAME} gave" in page
