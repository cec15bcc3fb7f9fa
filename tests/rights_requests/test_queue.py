"""The request queue: open requests by default, in due order; closed ones a click (or a search) away."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from shipex_privacy.rights_requests.models import SubjectRequest
from tests.rights_requests.factories import SubjectRequestFactory

pytestmark = pytest.mark.django_db
QUEUE = reverse("admin:rights_requests_subjectrequest_changelist")


@pytest.fixture
def agent_client(client, support_agent):
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def requests():
    now = timezone.now()
    later = SubjectRequestFactory(due_at=now + timedelta(days=20))
    sooner = SubjectRequestFactory(due_at=now + timedelta(days=2))
    done = SubjectRequestFactory(due_at=now + timedelta(days=1), status="done", response_text="Sent.",
                                 identity_method="app_login", identity_verified_at=now, closed_at=now)
    return later, sooner, done


def listed(response):
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_the_queue_shows_open_requests_soonest_due_first(agent_client, requests):
    later, sooner, _done = requests
    response = agent_client.get(QUEUE)
    assert listed(response) == [sooner, later]
    assert response.context["cl"].result_count == 2
    assert "Open requests" in response.content.decode()


def test_closed_requests_are_one_choice_away(agent_client, requests):
    later, sooner, done = requests
    assert listed(agent_client.get(QUEUE, {"queue": "all"})) == [done, sooner, later]
    assert listed(agent_client.get(QUEUE, {"status__exact": "done"})) == [done]
    assert listed(agent_client.get(QUEUE, {"q": str(done.pk)})) == [done]


def test_the_queue_order_and_open_are_the_ones_its_index_serves():
    """The partial index serves the queue only while both say the same order and the same 'open':
    a new closed status must be added to the index's condition (and a migration) too."""
    index = next(index for index in SubjectRequest._meta.indexes if index.name == "subject_request_open_due_idx")
    assert list(SubjectRequest._meta.ordering) == index.fields == ["due_at", "id"]
    (lookup, closed), = index.condition.children
    assert index.condition.negated and lookup == "status__in" and set(closed) == set(SubjectRequest.CLOSED)


def test_the_queue_reads_the_same_number_of_queries_however_many_requests_it_lists(agent_client):
    SubjectRequestFactory.create_batch(2)
    with CaptureQueriesContext(connection) as few:
        assert len(listed(agent_client.get(QUEUE))) == 2
    SubjectRequestFactory.create_batch(12)
    with CaptureQueriesContext(connection) as many:
        assert len(listed(agent_client.get(QUEUE))) == 14
    assert len(many) == len(few)


def test_each_queued_request_links_to_its_page_and_can_be_selected(agent_client, requests):
    later, sooner, _done = requests
    body = agent_client.get(QUEUE).content.decode()
    for obj in (later, sooner):
        assert f'href="{reverse("admin:rights_requests_subjectrequest_change", args=[obj.pk])}"' in body
        # The markup Django's own action checkbox renders, built without a template per row.
        assert (f'<input type="checkbox" name="_selected_action" value="{obj.pk}" class="action-select" '
                f'aria-label="Select this object for an action - {obj}">') in body


def test_the_queue_lists_one_screen_of_work_a_page(agent_client):
    SubjectRequestFactory.create_batch(51)
    response = agent_client.get(QUEUE)
    assert len(listed(response)) == 50 and response.context["cl"].multi_page


@pytest.mark.parametrize("language", ["uz", "ru", "en"])
def test_a_request_is_named_by_its_kind_as_the_staff_members_language_says_it(language):
    # The name comes from the kind's enum, not get_kind_display() (which hashes every label per call).
    with translation.override(language):
        for kind in SubjectRequest.Kind:
            request = SubjectRequest(pk=42, kind=kind)
            assert str(request) == f"DSR #42 · {request.get_kind_display()}"
        assert str(SubjectRequest(pk=42, kind="retired_kind")) == "DSR #42 · retired_kind"
