"""The register of protection measures (1.7.1): owners, evidence, and reviews that are never forgotten."""

import datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from shipex_privacy.protection.models import Measure, add_months
from tests.audit.page_forms import page_version
from tests.protection.factories import MeasureFactory

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture
def officer_client(client, compliance_officer):
    client.force_login(compliance_officer)
    client.cookies["django_language"] = "en"
    return client


def measure_form(**overrides) -> dict:
    values = {
        "title": "Encrypted courier tablets", "kind": "technical", "description": "Disk encryption and remote wipe.",
        "owner": "Logistics IT", "status": "in_place", "evidence": "MDM policy export, ticket IT-2026-114",
        "last_reviewed_on": "2026-10-01", "review_every_months": "6", "against_access": "on",
        "against_copying": "on", "change_reason": "",
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value != ""}


@pytest.mark.parametrize(("day", "months", "expected"), [
    (D(2026, 3, 15), 12, D(2027, 3, 15)),
    (D(2026, 11, 30), 3, D(2027, 2, 28)),   # into the next year, and a shorter month
    (D(2024, 1, 31), 1, D(2024, 2, 29)),    # leap year
    (D(2026, 8, 31), 3, D(2026, 11, 30)),
    (D(2026, 12, 1), 1, D(2027, 1, 1)),
])
def test_the_next_review_is_the_last_one_plus_whole_months(day, months, expected):
    assert add_months(day, months) == expected
    measure = MeasureFactory(last_reviewed_on=day, review_every_months=months)
    measure.refresh_from_db()
    assert measure.next_review_on == expected


def test_the_next_review_moves_with_every_save():
    measure = MeasureFactory(last_reviewed_on=D(2025, 5, 10), review_every_months=12)
    measure.last_reviewed_on = D(2026, 5, 20)
    measure.review_every_months = 3
    measure.save(update_fields=["last_reviewed_on", "review_every_months"])
    measure.refresh_from_db()
    assert measure.next_review_on == D(2026, 8, 20)


TODAY = D(2026, 11, 20)


@pytest.mark.parametrize(("last_reviewed_on", "months", "status", "overdue"), [
    (D(2026, 8, 20), 3, "in_place", False),   # due today: not overdue yet
    (D(2026, 8, 19), 3, "in_place", True),    # due yesterday
    (D(2025, 11, 20), 12, "in_place", False),
    (D(2025, 11, 19), 12, "in_place", True),
    (D(2025, 10, 1), 12, "planned", True),    # a plan is reviewed too
    (D(2023, 1, 1), 12, "retired", False),    # a retired measure is not
    (D(2026, 5, 31), 5, "in_place", True),    # 31 October
    (D(2026, 8, 31), 3, "in_place", False),   # 30 November, the month's last day
    (D(2026, 11, 1), 1, "planned", False),
])
def test_overdue_reviews(last_reviewed_on, months, status, overdue):
    measure = MeasureFactory(last_reviewed_on=last_reviewed_on, review_every_months=months, status=status)
    assert Measure.objects.filter(pk=measure.pk).overdue(TODAY).exists() is overdue
    assert measure.is_review_overdue(TODAY) is overdue


def test_overdue_defaults_to_today():
    late = MeasureFactory(last_reviewed_on=timezone.localdate() - datetime.timedelta(days=400))
    MeasureFactory(last_reviewed_on=timezone.localdate())
    assert list(Measure.objects.overdue()) == [late]


def test_the_overdue_query_is_answered_from_its_index():
    MeasureFactory.create_batch(3)
    queryset = Measure.objects.overdue(TODAY)
    if connection.vendor == "postgresql":
        sql, params = queryset.query.sql_with_params()
        with transaction.atomic(), connection.cursor() as cursor:
            # With a handful of rows a sequential scan is cheapest; forbid it to prove the index serves.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
    else:
        plan = queryset.explain()
    assert "measure_review_due_idx" in plan, plan


# --- the database holds the register's rules, and the form says what is wrong -------------------

CONSTRAINTS = [
    ("measure_review_interval_positive", {"review_every_months": 0},
     "the interval must be one month or more"),
    ("measure_protects_against_something", {"against_access": False, "against_copying": False},
     "Tick at least one protection of clause 1.7.1"),
    ("measure_in_place_has_evidence", {"status": "in_place", "evidence": ""},
     "A measure in place needs its evidence"),
]


@pytest.mark.parametrize(("name", "values", "message"), CONSTRAINTS, ids=[c[0] for c in CONSTRAINTS])
def test_the_database_refuses_a_measure_that_breaks_a_rule(name, values, message):
    with pytest.raises(IntegrityError, match=name), transaction.atomic():
        MeasureFactory(**values)


FORM_OVERRIDES = {
    "measure_review_interval_positive": {"review_every_months": "0"},
    "measure_protects_against_something": {"against_access": "", "against_copying": ""},
    "measure_in_place_has_evidence": {"evidence": ""},
}


@pytest.mark.parametrize(("name", "values", "message"), CONSTRAINTS, ids=[c[0] for c in CONSTRAINTS])
def test_the_form_refuses_a_measure_that_breaks_a_rule_and_says_why(officer_client, name, values, message):
    response = officer_client.post(reverse("admin:protection_measure_add"), measure_form(**FORM_OVERRIDES[name]))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Measure.objects.filter(title="Encrypted courier tablets").exists()


def test_a_planned_measure_needs_no_evidence_yet(officer_client):
    response = officer_client.post(
        reverse("admin:protection_measure_add"), measure_form(status="planned", evidence="")
    )
    assert response.status_code == 302
    assert Measure.objects.get(title="Encrypted courier tablets").next_review_on == D(2027, 4, 1)


def test_a_review_in_the_future_is_refused(officer_client):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    response = officer_client.post(
        reverse("admin:protection_measure_add"), measure_form(last_reviewed_on=tomorrow.isoformat())
    )
    assert "The last review cannot be in the future." in response.content.decode()
    assert not Measure.objects.filter(title="Encrypted courier tablets").exists()


# --- history ------------------------------------------------------------------------------------------


def test_a_review_is_a_recorded_change_with_its_reason(officer_client, compliance_officer):
    measure = MeasureFactory(title="Encrypted courier tablets", last_reviewed_on=D(2025, 10, 1), review_every_months=12)
    url = reverse("admin:protection_measure_change", args=[measure.pk])

    response = officer_client.post(url, measure_form(last_reviewed_on="2026-10-15", review_every_months="12"))
    assert "change_reason" in response.context["adminform"].form.errors
    measure.refresh_from_db()
    assert measure.last_reviewed_on == D(2025, 10, 1)

    reason = "Annual review 2026: MDM report checked, 0 unencrypted tablets"
    response = officer_client.post(
        url, measure_form(last_reviewed_on="2026-10-15", review_every_months="12", change_reason=reason,
                          **page_version(officer_client, measure))
    )
    assert response.status_code == 302
    measure.refresh_from_db()
    assert measure.next_review_on == D(2027, 10, 15)
    latest = measure.history.latest()
    assert (latest.last_reviewed_on, latest.next_review_on, latest.history_change_reason, latest.history_username) == (
        D(2026, 10, 15), D(2027, 10, 15), reason, compliance_officer.username
    )
    assert latest.prev_record.next_review_on == D(2026, 10, 1)
    history_page = officer_client.get(reverse("admin:protection_measure_history", args=[measure.pk]))
    assert reason in history_page.content.decode()


def test_seeded_measures_have_their_history_from_the_start():
    seeded = Measure.objects.get(title="Role-based access in the back office")
    created = seeded.history.earliest()
    assert created.history_type == "+"
    assert created.history_change_reason.startswith("Seeded measures register")
    assert seeded.status == Measure.Status.IN_PLACE and seeded.evidence
    assert seeded.next_review_on == add_months(seeded.last_reviewed_on, seeded.review_every_months)
    quarterly = Measure.objects.get(title="Quarterly review of staff access")
    assert (quarterly.kind, quarterly.review_every_months) == (Measure.Kind.ORGANISATIONAL, 3)
    assert Measure.objects.filter(title="Encryption of backups", against_copying=True).exists()


# --- the list ---------------------------------------------------------------------------------------------


def test_the_list_marks_overdue_reviews_in_red_and_filters_them(officer_client):
    late = MeasureFactory(title="Encrypted courier tablets", last_reviewed_on=D(2024, 1, 10), review_every_months=12)
    MeasureFactory(title="Locked archive room", last_reviewed_on=timezone.localdate())
    url = reverse("admin:protection_measure_changelist")

    page = officer_client.get(url).content.decode()
    assert page.count('<strong class="review-overdue">') == 1
    assert "review overdue" in page
    assert "protection/admin.css" in page  # the red comes from a stylesheet: CSP allows no inline style

    response = officer_client.get(url, {"review": "overdue"})
    assert list(response.context["cl"].result_list) == [late]


def test_the_list_filters_by_what_a_measure_protects_against(officer_client):
    blocking = MeasureFactory(title="Spare database replica", against_access=False, against_copying=False,
                              against_blocking=True)
    response = officer_client.get(reverse("admin:protection_measure_changelist"), {"protects": "against_blocking"})
    assert list(response.context["cl"].result_list) == [blocking]
    assert "blocking" in response.content.decode()


def test_script_in_a_title_is_shown_as_text(officer_client):
    MeasureFactory(title='<script>alert("x")</script>', last_reviewed_on=D(2024, 1, 10))
    page = officer_client.get(reverse("admin:protection_measure_changelist")).content.decode()
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;" in page
