"""Bad trail filters (list and CSV export) get a clear message and nothing else: never a 500, never
the whole trail exported in place of a filter that could not be read."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from shipex_privacy.audit.models import AccessEvent
from shipex_privacy.audit.services import record_save
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db
TRAIL = reverse("admin:audit_trailentry_changelist")
EXPORT = reverse("admin:audit_trailentry_export")

BAD_FILTERS = [
    {"from_date": "2026-99-99"},
    {"from_date": "0001-01-01"},
    {"from_date": "9999-12-31"},
    {"from_date": "31.02.2026"},
    {"from_date": "11/25/2026"},
    {"before_date": "2026-02-30"},
    {"before_date": "0001-01-01"},
    {"before_date": "<b>x</b>"},
    {"user_id": "abc"},
    {"user_id": "-1"},
    {"user_id": "99999999999999999999"},
    {"subject_id": "abc"},
    {"subject_id": "1.5"},
    {"subject_id": "99999999999999999999"},
    {"user_id": "1", "no_such_filter": "1"},
]


@pytest.fixture
def auditor_client(client, auditor, support_agent):
    record_save(instance=DataSubjectFactory(), actor=support_agent, reason="Something to list")
    client.force_login(auditor)
    client.cookies["django_language"] = "en"
    return client


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.mark.parametrize("params", BAD_FILTERS, ids=lambda params: "&".join(f"{k}={v}" for k, v in params.items()))
@pytest.mark.parametrize("url", [TRAIL, EXPORT], ids=["list", "export"])
def test_a_bad_filter_is_refused_with_a_message(auditor_client, url, params):
    exports_before = AccessEvent.objects.filter(action=AccessEvent.Action.EXPORT).count()
    response = auditor_client.get(url, params)
    assert response.status_code == 302
    if url == TRAIL and "no_such_filter" in params:
        assert response.url.endswith("e=1")  # Django's own refusal of a parameter the list does not know
        return
    assert response.url.startswith(TRAIL)
    for name in params:
        assert name not in response.url  # the list it sends back to is not filtered by the bad value
    assert any("This filter was not applied" in text for text in messages_of(response)), messages_of(response)
    # Nothing was exported, so no export in the access log either.
    assert AccessEvent.objects.filter(action=AccessEvent.Action.EXPORT).count() == exports_before
    assert auditor_client.get(response.url).status_code == 200


def test_a_bad_filter_keeps_the_good_ones(auditor_client, support_agent):
    response = auditor_client.get(TRAIL, {"from_date": "2026-99-99", "user_id": support_agent.pk})
    assert response.status_code == 302
    assert f"user_id={support_agent.pk}" in response.url and "from_date" not in response.url
    assert "From:" in " ".join(messages_of(response))


@pytest.mark.parametrize("params", [
    {"from_date": "2000-01-01"}, {"before_date": "9998-12-31"},
    {"from_date": "2026-11-25", "before_date": "2026-11-26"},
])
def test_good_edge_values_are_applied(auditor_client, params):
    assert auditor_client.get(TRAIL, params).status_code == 200
    response = auditor_client.get(EXPORT, params)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
