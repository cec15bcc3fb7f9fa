"""The subjects list filtered by status: counted no further than the cap, and it says so."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from shipex_privacy.core.paginator import CappedCountPaginator
from shipex_privacy.subjects.models import DataSubject
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db
SUBJECTS = reverse("admin:subjects_datasubject_changelist")


@pytest.fixture
def agent_client(client, support_agent):
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def small_cap(monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "cap", 4)


def test_a_status_matching_more_than_the_cap_is_not_counted_further_and_the_page_says_so(agent_client, small_cap):
    DataSubjectFactory.create_batch(6)
    with CaptureQueriesContext(connection) as queries:
        response = agent_client.get(SUBJECTS, {"status__exact": DataSubject.Status.ACTIVE})
    body = response.content.decode()
    assert response.status_code == 200 and response.context["cl"].result_count == 4
    assert 'id="subjects-count-capped"' in body and "More than 4 subjects match" in body
    counts = [query["sql"] for query in queries.captured_queries if "COUNT(" in query["sql"].upper()]
    assert counts and all("LIMIT 5" in sql for sql in counts)


def test_a_status_under_the_cap_is_counted_exactly_without_a_note(agent_client, small_cap):
    DataSubjectFactory.create_batch(5)
    closed = DataSubjectFactory.create_batch(2, status=DataSubject.Status.CLOSED)
    response = agent_client.get(SUBJECTS, {"status__exact": DataSubject.Status.CLOSED})
    body = response.content.decode()
    assert set(response.context["cl"].result_list) == set(closed) and response.context["cl"].result_count == 2
    assert "subjects-count-capped" not in body and "subjects-count-estimated" not in body
    assert "2 data subjects" in body


def test_the_list_by_status_keeps_its_filter_in_each_link_and_its_query_count_as_rows_grow(agent_client):
    DataSubjectFactory.create_batch(2, status=DataSubject.Status.LOGGED_OUT)
    with CaptureQueriesContext(connection) as few:
        agent_client.get(SUBJECTS, {"status__exact": DataSubject.Status.LOGGED_OUT})
    listed = DataSubjectFactory.create_batch(12, status=DataSubject.Status.LOGGED_OUT)
    with CaptureQueriesContext(connection) as many:
        body = agent_client.get(SUBJECTS, {"status__exact": DataSubject.Status.LOGGED_OUT}).content.decode()
    assert len(many) == len(few)
    for subject in listed:  # back to the same filtered list from each subject's page
        change = reverse("admin:subjects_datasubject_change", args=[subject.pk])
        assert f'href="{change}?_changelist_filters=status__exact%3Dlogged_out"' in body
