"""The outbox in the admin: connecting a system (its secret shown once), messages with every attempt,
"retry now", and who may see what."""

import re

import pytest
from django.conf import settings
from django.urls import reverse

from shipex_privacy.catalogue.models import System
from shipex_privacy.integrations.models import OutboxMessage, SystemIntegration
from shipex_privacy.integrations.services import integration_create, outbox_deliver_due
from shipex_privacy.rights_requests.erasure import request_erase
from tests.accounts.factories import StaffFactory
from tests.integrations.test_outbox import task_systems, verified_request

pytestmark = pytest.mark.django_db
SECRET_RE = re.compile(r"whsec_[A-Za-z0-9_-]{43}")


@pytest.fixture
def officer_client(client, compliance_officer):
    client.force_login(compliance_officer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_an_officer_connects_a_system_and_sees_its_signing_secret_once(officer_client, settings):
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = False
    system = System.objects.get(code="shipex-app")
    response = officer_client.post(reverse("admin:integrations_systemintegration_add"), {
        "system": system.pk, "webhook_url": "https://app.shipex.uz/privacy/hooks", "kinds": ["erasure", "access"],
        "timeout_seconds": "10", "active": "on", "change_reason": "Issue 12: the app erases by itself"})

    assert response.status_code == 200, response.content
    assert "no-store" in response["Cache-Control"]
    integration = SystemIntegration.objects.get(system=system)
    assert SECRET_RE.findall(response.content.decode()) == [integration.signing_secret]
    assert integration.kinds == ["access", "erasure"]
    for url in (reverse("admin:integrations_systemintegration_changelist"),
                reverse("admin:integrations_systemintegration_change", args=[integration.pk]),
                reverse("admin:integrations_systemintegration_history", args=[integration.pk])):
        page = officer_client.get(url)
        assert page.status_code == 200 and integration.signing_secret not in page.content.decode()
    row = integration.history.get()
    assert row.history_username == "nodira" and not hasattr(row, "signing_secret")  # never in history


def test_plain_http_to_another_host_is_refused_in_the_form(officer_client):
    response = officer_client.post(reverse("admin:integrations_systemintegration_add"), {
        "system": System.objects.first().pk, "webhook_url": "http://hooks.example.uz/x", "kinds": ["erasure"],
        "timeout_seconds": "10", "active": "on"})
    assert response.status_code == 200 and "webhook_url" in response.context["adminform"].form.errors
    assert not SystemIntegration.objects.exists()


@pytest.fixture
def dead_message(settings, support_agent, receiver):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    integration_create(system=task_systems()[0], webhook_url=receiver.url, kinds=["erasure"], actor=None)
    request_erase(request=verified_request(support_agent, "erasure"), actor=support_agent)
    receiver.answers = [500]
    outbox_deliver_due()
    return OutboxMessage.objects.get()


def test_a_dead_message_shows_every_attempt_and_retry_now_makes_it_due(officer_client, dead_message,
                                                                       django_assert_max_num_queries):
    changelist = reverse("admin:integrations_outboxmessage_changelist")
    with django_assert_max_num_queries(12):
        page = officer_client.get(changelist + "?status=dead").content.decode()
    assert "HTTP 500 Internal Server Error" in page and f"DSR #{dead_message.task.request_id}" in page
    detail = officer_client.get(reverse("admin:integrations_outboxmessage_change", args=[dead_message.pk]))
    assert detail.status_code == 200 and "HTTP 500 Internal Server Error" in detail.content.decode()

    response = officer_client.post(changelist, {"action": "retry_now", "_selected_action": [dead_message.pk]},
                                   follow=True)

    assert "1 message is due now" in response.content.decode()
    dead_message.refresh_from_db()
    assert dead_message.status == "pending"
    assert dead_message.task.history.latest().history_username == "nodira"


def test_auditors_read_the_outbox_but_cannot_retry_and_agents_do_not_see_it(client, dead_message):
    changelist = reverse("admin:integrations_outboxmessage_changelist")
    client.force_login(StaffFactory(role="Auditor"))
    page = client.get(changelist)
    assert page.status_code == 200 and "retry_now" not in page.content.decode()
    client.post(changelist, {"action": "retry_now", "_selected_action": [dead_message.pk]})
    dead_message.refresh_from_db()
    assert dead_message.status == "dead"

    client.force_login(StaffFactory(role="Support agent"))
    assert client.get(changelist).status_code == 403
    assert client.get(reverse("admin:integrations_systemtask_changelist")).status_code == 403
