"""The agent's queue in the admin: filters, overdue in red, bulk assign, workflow steps, deadline table."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from shipex_privacy.rights_requests.models import DeadlineRule, SubjectRequest
from tests.audit.page_forms import page_version
from tests.rights_requests.factories import SubjectRequestFactory

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:rights_requests_subjectrequest_changelist")


@pytest.fixture
def agent_client(client, support_agent):
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    return client


def test_the_queue_shows_overdue_in_red_and_filters(agent_client, support_agent):
    late = SubjectRequestFactory(due_at=timezone.now() - timedelta(days=1))
    soon = SubjectRequestFactory(due_at=timezone.now() + timedelta(days=1), assignee_id=support_agent.pk,
                                 assignee_username="jasur")
    later = SubjectRequestFactory(due_at=timezone.now() + timedelta(days=25))
    page = agent_client.get(CHANGELIST).content.decode()
    assert page.count('class="rr-due rr-overdue"') == 1 and page.count('class="rr-due rr-due-soon"') == 1
    for queue, expected in [("mine", {soon}), ("unassigned", {late, later}), ("due_soon", {soon}),
                            ("overdue", {late})]:
        response = agent_client.get(CHANGELIST, {"queue": queue})
        assert set(response.context["cl"].result_list) == expected, queue


def test_bulk_assign_to_a_colleague_or_to_me(agent_client, support_agent):
    from shipex_privacy.accounts.roles import SUPPORT_AGENT
    from tests.accounts.factories import StaffFactory

    colleague = StaffFactory(username="bekzod", role=SUPPORT_AGENT)
    requests = SubjectRequestFactory.create_batch(3)
    ids = [str(request.pk) for request in requests]
    agent_client.post(CHANGELIST, {"action": "assign_selected", "_selected_action": ids[:2], "assignee": colleague.pk})
    agent_client.post(CHANGELIST, {"action": "assign_selected", "_selected_action": ids[2:], "assignee": ""})
    assert [SubjectRequest.objects.get(pk=pk).assignee_username for pk in ids] == ["bekzod", "bekzod", "jasur"]


def test_bulk_assign_offers_only_staff_who_may_work_requests(agent_client, support_agent):
    from shipex_privacy.accounts.roles import AUDITOR, COMPLIANCE_OFFICER, SUPPORT_AGENT
    from tests.accounts.factories import StaffFactory

    StaffFactory(username="bekzod", role=SUPPORT_AGENT)
    StaffFactory(username="dilnoza", role=COMPLIANCE_OFFICER)
    StaffFactory(username="auditor_aziz", role=AUDITOR)
    StaffFactory(username="former_agent", role=SUPPORT_AGENT, is_active=False)
    SubjectRequestFactory()
    page = agent_client.get(CHANGELIST).content.decode()
    offered = page[page.index('name="assignee"'):]
    offered = offered[:offered.index("</select>")]
    assert ">bekzod<" in offered and f">{support_agent.username}<" in offered
    assert "auditor_aziz" not in offered and "former_agent" not in offered


def test_the_staff_offered_for_assignment_are_read_in_one_plain_query(agent_client, support_agent):
    # Django reads a choice field's rows through a server-side cursor on PostgreSQL (declare, fetch,
    # close); the queue offers a few staff on every page.
    SubjectRequestFactory()
    with CaptureQueriesContext(connection) as queries:
        page = agent_client.get(CHANGELIST).content.decode()
    assert f">{support_agent.username}<" in page[page.index('name="assignee"'):]
    assert not [query["sql"] for query in queries if "DECLARE" in query["sql"].upper()]


def test_an_agent_records_a_request_and_its_deadline_is_set(agent_client):
    received = timezone.localtime() - timedelta(hours=2)
    response = agent_client.post(reverse("admin:rights_requests_subjectrequest_add"), {
        "kind": "correction", "channel": "office", "received_at_0": f"{received:%Y-%m-%d}",
        "received_at_1": f"{received:%H:%M:%S}", "requester_name": "Aziza Tursunova",
        "requester_contact": "+998901234567", "details": "Manzilni toʻgʻrilash", "change_reason": "",
        "deadline_changes-TOTAL_FORMS": "0", "deadline_changes-INITIAL_FORMS": "0",
    })
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    request = SubjectRequest.objects.get()
    assert request.due_at == DeadlineRule.objects.get(kind="correction").due_at(request.received_at)
    assert request.history.get().history_change_reason == "Received via In the office"


def test_a_workflow_step_refuses_closing_without_a_response(agent_client):
    request = SubjectRequestFactory()
    url = reverse("admin:rights_requests_subjectrequest_move", args=[request.pk])
    assert agent_client.get(url).status_code == 200
    response = agent_client.post(url, {"status": "refused", "response_text": "", "note": ""}, follow=True)
    assert "Write the response to the subject before closing the request." in response.content.decode()
    response = agent_client.post(url, {"status": "refused", "response_text": "Rad etildi", "note": ""})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == "refused"


def test_auditors_and_compliance_only_read_requests(client, auditor, compliance_officer):
    request = SubjectRequestFactory()
    for user in (auditor, compliance_officer):
        client.force_login(user)
        assert client.get(reverse("admin:rights_requests_subjectrequest_change", args=[request.pk])).status_code == 200
        for step in ("move", "extend", "pause", "match", "verify"):
            url = reverse(f"admin:rights_requests_subjectrequest_{step}", args=[request.pk])
            assert client.post(url, {}).status_code == 403, step


def test_compliance_edits_the_deadline_table_with_a_reason_support_reads_it(client, compliance_officer,
                                                                              support_agent):
    rule = DeadlineRule.objects.get(kind="correction")
    url = reverse("admin:rights_requests_deadlinerule_change", args=[rule.pk])
    data = {"kind": "correction", "days": "5", "day_count": "working", "extension_days": "20",
            "legal_reference": rule.legal_reference, "note": "Confirmed by counsel 2026-11-25",
            "change_reason": "Counsel's opinion № 14"}
    client.force_login(support_agent)
    assert client.get(url).status_code == 200
    assert client.post(url, data).status_code == 403
    client.force_login(compliance_officer)
    assert client.post(url, {**data, **page_version(client, rule)}).status_code == 302
    rule.refresh_from_db()
    assert (rule.days, rule.day_count, rule.extension_days) == (5, "working", 20)
    assert rule.history.latest().history_change_reason == "Counsel's opinion № 14"


def test_the_queue_costs_the_same_queries_however_many_requests_it_shows(agent_client, support_agent):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.subjects.factories import DataSubjectFactory

    def duplicated_pair():
        subject = DataSubjectFactory()
        original = SubjectRequestFactory(subject=subject)
        SubjectRequestFactory(subject=subject, duplicate_of=original)

    duplicated_pair()
    with CaptureQueriesContext(connection) as few:
        agent_client.get(CHANGELIST)
    for _ in range(6):
        duplicated_pair()
    with CaptureQueriesContext(connection) as many:
        agent_client.get(CHANGELIST)
    assert len(many) == len(few)


def test_the_extend_step_refuses_beyond_the_rule_with_the_reason_and_shows_the_letter(agent_client):
    DeadlineRule.objects.filter(kind="access").update(extension_days=7)
    request = SubjectRequestFactory(kind="access")
    url = reverse("admin:rights_requests_subjectrequest_extend", args=[request.pk])
    response = agent_client.post(url, {"days": 8, "reason": "Archive"}, follow=True)
    assert "approved by a compliance officer" in response.content.decode()
    assert not request.deadline_changes.exists()
    response = agent_client.post(url, {"days": 7, "reason": "Archive <b>boxes</b>"}, follow=True)
    page = response.content.decode()
    assert "is extended" in page and 'class="letter-text"' in page
    assert "Archive &lt;b&gt;boxes&lt;/b&gt;" in page and "<b>boxes</b>" not in page
