"""The requests dashboard: open and overdue per kind, median time to close, as a chart."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from shipex_privacy.rights_requests.dashboard import dashboard_rows
from shipex_privacy.rights_requests.models import SubjectRequest
from tests.rights_requests.factories import SubjectRequestFactory

pytestmark = pytest.mark.django_db
DASHBOARD = reverse("admin:rights_requests_subjectrequest_dashboard")


def closed(kind, days, *, ago=10):
    received = timezone.now() - timedelta(days=ago + days)
    return SubjectRequestFactory(kind=kind, received_at=received, status="done", response_text="Done.",
                                 identity_method="app_login", identity_verified_at=received,
                                 closed_at=received + timedelta(days=days))


def test_counts_and_median_per_kind():
    SubjectRequestFactory(kind="access")
    SubjectRequestFactory(kind="access", due_at=timezone.now() - timedelta(hours=1))
    SubjectRequestFactory(kind="access", due_at=timezone.now() - timedelta(hours=1),
                          paused_at=timezone.now())  # paused: open, not overdue
    for days in (2, 4, 9):
        closed("access", days)
    closed("erasure", 3)
    closed("erasure", 6)
    closed("erasure", 20, ago=400)  # closed over a year ago: outside the median

    rows = {row.kind: row for row in dashboard_rows()}

    assert (rows["access"].open, rows["access"].overdue, rows["access"].closed, rows["access"].median_days) == (
        3, 1, 3, 4.0)
    assert (rows["erasure"].open, rows["erasure"].closed, rows["erasure"].median_days) == (0, 2, 4.5)
    assert (rows["complaint"].open, rows["complaint"].median_days) == (0, None)


def test_the_page_draws_the_chart_and_its_queries_do_not_grow_with_requests(client, support_agent):
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    for kind, _label in SubjectRequest.Kind.choices:
        closed(kind, 5)
    with CaptureQueriesContext(connection) as few:
        page = client.get(DASHBOARD)
    for days in range(1, 30):
        closed("correction", days)
        SubjectRequestFactory(kind="complaint", due_at=timezone.now() - timedelta(days=1))
    with CaptureQueriesContext(connection) as many:
        page = client.get(DASHBOARD)
    body = page.content.decode()
    assert page.status_code == 200 and body.count("<rect") == 3 * 8
    assert "queue=overdue" in body and ">29</a>" in body
    assert len(many) == len(few)


def test_the_queue_links_to_the_dashboard(client, auditor):
    client.force_login(auditor)
    page = client.get(reverse("admin:rights_requests_subjectrequest_changelist")).content.decode()
    assert DASHBOARD in page and client.get(DASHBOARD).status_code == 200


def test_the_chart_draws_in_uzbek_too(client, support_agent):
    """Uzbek writes 7,5 for 7.5; SVG coordinates must keep the decimal point."""
    client.force_login(support_agent)
    client.cookies["django_language"] = "uz"
    for days in (1, 2):
        closed("access", days)
    SubjectRequestFactory(kind="access")
    SubjectRequestFactory(kind="erasure")
    SubjectRequestFactory(kind="erasure")
    SubjectRequestFactory(kind="erasure")
    body = client.get(DASHBOARD).content.decode()
    svg = body[body.index('<svg viewBox'):]
    svg = svg[:svg.index("</svg>")]
    assert re.findall(r'(?:width|x)="[0-9.]+"', svg) and not re.search(r'(?:width|x)="[^"]*,', svg)
    assert "1,5" in body  # the table beside it still speaks Uzbek: median 1,5 days
    # ...and so does the chart's own label: people read "1,5" there too, never "1.5" beside "1,5".
    assert ">1,5</text>" in svg and ">1.5</text>" not in svg


def figures_one_kind_at_a_time(now):
    """The dashboard's figures the plain way: a count per figure and kind, each kind's closed requests
    loaded and sorted in Python. What the set-based queries must agree with."""
    since = now - timedelta(days=365)
    figures = {}
    for kind, _label in SubjectRequest.Kind.choices:
        of_kind = SubjectRequest.objects.filter(kind=kind)
        times = sorted(request.closed_at - request.received_at for request in of_kind.filter(closed_at__gte=since))
        middle = times[(len(times) - 1) // 2: len(times) // 2 + 1]
        median = sum(middle, timedelta()) / len(middle) if middle else None
        figures[kind] = (of_kind.open().count(), of_kind.overdue(now).count(), len(times),
                         round(median / timedelta(days=1), 1) if median is not None else None)
    return figures


def varied_requests(seed):
    """Requests of every kind and state: open, paused, overdue, closed lately and long ago, done and
    refused, with times to close from hours to weeks (ties included)."""
    kinds = [kind for kind, _label in SubjectRequest.Kind.choices]
    now = timezone.now()
    for index in range(seed):
        kind = kinds[(index * 5) % len(kinds)]
        if index % 3 == 0:
            SubjectRequestFactory(kind=kind, due_at=now + timedelta(days=(index % 7) - 3),
                                  paused_at=now if index % 4 == 0 else None)
        else:
            closed(kind, (index % 11) + (index % 5) / 24, ago=(index * 37) % 500)
    SubjectRequestFactory(kind="complaint", status="refused", response_text="Refused.",
                          closed_at=now - timedelta(days=2), received_at=now - timedelta(days=9))


def test_set_based_figures_are_the_plain_figures():
    varied_requests(60)
    now = timezone.now()
    rows = {row.kind: (row.open, row.overdue, row.closed, row.median_days) for row in dashboard_rows(now)}
    assert rows == figures_one_kind_at_a_time(now)
    assert any(figures[0] for figures in rows.values()) and any(figures[3] for figures in rows.values())


def test_the_figures_cost_the_same_queries_however_many_requests(django_assert_num_queries):
    varied_requests(8)
    with CaptureQueriesContext(connection) as few:
        dashboard_rows()
    varied_requests(80)
    with django_assert_num_queries(len(few)):
        dashboard_rows()
    assert len(few) <= 2
