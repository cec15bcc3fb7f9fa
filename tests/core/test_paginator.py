"""Counts that never scan a large table: the planner's estimate unfiltered, a capped count filtered."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shipex_privacy.core.paginator import CappedCountPaginator, EstimatedCountPaginator
from shipex_privacy.subjects.models import DataSubject
from tests.owner import owner_connection
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db


class SmallCap(CappedCountPaginator):
    cap = 5


@pytest.fixture
def subjects():
    DataSubjectFactory.create_batch(7)
    DataSubjectFactory.create_batch(3, status=DataSubject.Status.CLOSED)


def test_a_filtered_list_under_the_cap_is_counted_exactly(subjects):
    paginator = SmallCap(DataSubject.objects.filter(status=DataSubject.Status.CLOSED), 2)
    assert (paginator.count, paginator.num_pages, paginator.capped) == (3, 2, False)


def test_a_filtered_list_over_the_cap_counts_no_further_and_says_so(subjects):
    paginator = SmallCap(DataSubject.objects.filter(status=DataSubject.Status.ACTIVE), 2)
    with CaptureQueriesContext(connection) as queries:
        assert (paginator.count, paginator.capped, paginator.estimated) == (5, True, False)
    (query,) = queries.captured_queries
    assert "LIMIT 6" in query["sql"]  # one row past the cap, never the whole table
    assert paginator.num_pages == 3 and len(paginator.page(3).object_list) == 1


def test_without_a_cap_a_filtered_list_is_counted_exactly(subjects):
    paginator = EstimatedCountPaginator(DataSubject.objects.filter(status=DataSubject.Status.ACTIVE), 2)
    assert (paginator.count, paginator.capped) == (7, False)


def test_a_small_table_unfiltered_is_counted_exactly(subjects):
    paginator = SmallCap(DataSubject.objects.all(), 2)
    assert (paginator.count, paginator.estimated, paginator.capped) == (10, False, False)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the planner's statistics are PostgreSQL's")
def test_a_large_table_unfiltered_is_the_planners_estimate_and_says_so(subjects):
    class LargeFromTen(SmallCap):
        exact_below = 10

    with owner_connection().cursor() as cursor:  # only the table's owner may ANALYZE it (CI runs as the app role)
        cursor.execute("ANALYZE subjects_datasubject")
    paginator = LargeFromTen(DataSubject.objects.all(), 2)
    assert (paginator.count, paginator.estimated, paginator.capped) == (10, True, False)
