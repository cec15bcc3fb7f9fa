"""The protection level of each ShipEx system (resolution no. 570 of 05.10.2022): decided with its
reasoning, by whom and when, and re-assessed on time — an overdue one stands out like an overdue review."""

import datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone

from shipex_privacy.catalogue.models import System
from shipex_privacy.protection.models import ProtectionLevel
from tests.audit.page_forms import page_version
from tests.protection.factories import ProtectionLevelFactory

pytestmark = pytest.mark.django_db

D = datetime.date
TODAY = D(2026, 11, 20)


@pytest.fixture
def officer_client(client, compliance_officer):
    client.force_login(compliance_officer)
    client.cookies["django_language"] = "en"
    return client


def system(code: str) -> System:
    return System.objects.get(code=code)


@pytest.mark.parametrize(("reassess_by", "overdue"), [
    (D(2026, 11, 20), False),  # due today: not overdue yet
    (D(2026, 11, 19), True),
    (D(2027, 5, 1), False),
])
def test_overdue_reassessments(reassess_by, overdue):
    level = ProtectionLevelFactory(decided_on=D(2025, 11, 1), reassess_by=reassess_by)
    assert ProtectionLevel.objects.filter(pk=level.pk).overdue(TODAY).exists() is overdue
    assert level.is_reassessment_overdue(TODAY) is overdue


def test_overdue_defaults_to_today():
    today = timezone.localdate()
    late = ProtectionLevelFactory(system=system("tms"), decided_on=today - datetime.timedelta(days=400),
                                  reassess_by=today - datetime.timedelta(days=1))
    ProtectionLevelFactory(system=system("crm"))
    assert list(ProtectionLevel.objects.overdue()) == [late]


def test_the_overdue_query_is_answered_from_its_index():
    ProtectionLevelFactory()
    queryset = ProtectionLevel.objects.overdue(TODAY)
    if connection.vendor == "postgresql":
        sql, params = queryset.query.sql_with_params()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")  # a one-row table: prove the index can serve
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
    else:
        plan = queryset.explain()
    assert "protection_level_reassess_idx" in plan, plan


@pytest.mark.parametrize(("values", "constraint"), [
    ({"level": 5}, "protection_level_one_to_four"),
    ({"reasoning": ""}, "protection_level_has_reasoning"),
    ({"decided_on": D(2026, 5, 1), "reassess_by": D(2026, 5, 1)}, "protection_level_reassess_after_decision"),
])
def test_the_database_refuses_a_level_that_breaks_a_rule(values, constraint):
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        ProtectionLevelFactory(**values)


def test_one_level_per_system_and_a_system_with_a_level_is_not_deleted():
    ProtectionLevelFactory(system=system("tms"))
    with pytest.raises(IntegrityError), transaction.atomic():
        ProtectionLevelFactory(system=system("tms"))
    with pytest.raises(ProtectedError):
        system("tms").delete()


def level_form(**overrides) -> dict:
    values = {"system": system("customs").pk, "level": "2", "reasoning": "Passport data of international senders.",
              "decided_by": "Nodira Yusupova, compliance officer", "decided_on": "2026-10-01",
              "reassess_by": "2027-10-01", "change_reason": "Assessment of 01.10.2026"}
    values.update(overrides)
    return values


def test_an_officer_records_a_level_and_its_reassessment_keeps_the_earlier_decision(officer_client):
    add = officer_client.post(reverse("admin:protection_protectionlevel_add"), level_form())
    assert add.status_code == 302
    level = ProtectionLevel.objects.get(system__code="customs")
    assert (level.level, level.decided_by) == (2, "Nodira Yusupova, compliance officer")

    url = reverse("admin:protection_protectionlevel_change", args=[level.pk])
    response = officer_client.post(url, level_form(level="1", decided_on="2026-11-01", reassess_by="2027-05-01",
                                                   reasoning="Biometric photos added at pick-up points.",
                                                   change_reason="Re-assessment: biometric data",
                                                   **page_version(officer_client, level)))
    assert response.status_code == 302
    assert [row.level for row in level.history.order_by("history_id")] == [2, 1]
    assert level.history.first().history_change_reason == "Re-assessment: biometric data"


@pytest.mark.parametrize(("overrides", "message"), [
    ({"decided_on": "2099-01-01", "reassess_by": "2099-06-01"}, "The decision cannot be in the future."),
    ({"reassess_by": "2026-09-01"}, "The re-assessment is due after the day the level was decided."),
    ({"level": "5"}, "Select a valid choice."),
])
def test_the_form_refuses_a_bad_level_and_says_why(officer_client, overrides, message):
    response = officer_client.post(reverse("admin:protection_protectionlevel_add"), level_form(**overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ProtectionLevel.objects.exists()


def test_the_list_marks_overdue_reassessments_in_red_and_filters_them(officer_client, django_assert_max_num_queries):
    today = timezone.localdate()
    late = ProtectionLevelFactory(system=system("tms"), decided_on=today - datetime.timedelta(days=400),
                                  reassess_by=today - datetime.timedelta(days=10))
    ProtectionLevelFactory(system=system("crm"))
    url = reverse("admin:protection_protectionlevel_changelist")
    page = officer_client.get(url).content.decode()
    # The same mark as an overdue measure review: one stylesheet class, words as well as colour.
    assert page.count('<strong class="review-overdue">') == 1
    assert "re-assessment overdue" in page and "protection/admin.css" in page
    response = officer_client.get(url, {"reassessment": "overdue"})
    assert list(response.context["cl"].result_list) == [late]

    with django_assert_max_num_queries(12) as few:
        officer_client.get(url)
    for code in ("billing", "customs", "shipex-web", "web-analytics"):
        ProtectionLevelFactory(system=system(code))
    with django_assert_max_num_queries(len(few.captured_queries)):
        officer_client.get(url)  # the system's name comes with the row, not a query per row


def test_the_record_page_names_its_source_for_staff(officer_client):
    level = ProtectionLevelFactory()
    page = officer_client.get(reverse("admin:protection_protectionlevel_change", args=[level.pk])).content.decode()
    assert "resolution no. 570 of 05.10.2022" in page and "To be confirmed by counsel" in page
