"""Done means done, for every kind of request: the work of its kind is on record before the request
closes as done, and before a "done" letter is drafted. An erasure waits for other systems' owners."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from shipex_privacy.catalogue.models import Purpose
from shipex_privacy.consents.models import Consent, ConsentEvent
from shipex_privacy.consents.services import Evidence, consent_grant
from shipex_privacy.rights_requests.erasure import erasure_override_open_tasks, erasure_task_done, request_erase
from shipex_privacy.rights_requests.models import DONE_NEEDS, SubjectRequest
from shipex_privacy.rights_requests.responses import response_from_template
from shipex_privacy.rights_requests.services import (
    consents_to_withdraw,
    request_correct_subject,
    request_move,
    request_receive,
    request_stop_processing,
    request_verify_identity,
    request_withdraw_consents,
)
from tests.consents.factories import PolicyVersionFactory
from tests.rights_requests.factories import build_package
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db
K, S = SubjectRequest.Kind, SubjectRequest.Status


def grant(subject, clause, recipient_kind=""):
    return consent_grant(subject=subject, purpose=Purpose.objects.get(clause=clause), recipient_kind=recipient_kind,
                         policy_version=PolicyVersionFactory(published=True), actor=None,
                         occurred_at=timezone.now() - timedelta(days=30), evidence=Evidence(channel="app")).consent


def subject_with_consents():
    subject = DataSubjectFactory(preferred_language="en")
    grant(subject, "1.3.2.5")  # advertising
    grant(subject, "1.3.2.2", recipient_kind="processor")  # disclosure to a processor (1.4.3.1)
    return subject


def in_progress(agent, kind, subject=None):
    request = request_receive(kind=kind, channel="phone", actor=agent, subject=subject or subject_with_consents(),
                              requester_name="Aziza Tursunova")
    request_verify_identity(request=request, method="sms_code", actor=agent)
    for status in (S.VERIFYING, S.IN_PROGRESS):
        request = request_move(request=request, status=status, actor=agent)
    return request


def fresh(request) -> SubjectRequest:
    return SubjectRequest.objects.get(pk=request.pk)


def tick_off_every_task(request, actor):
    for task in request.open_tasks():
        erasure_task_done(item=task, actor=actor, note="Deleted in the system")


# The work each kind asks for, carried out through its step.
WORK = {
    K.ACCESS: lambda request, agent: build_package(request, agent),
    K.INFORMATION: lambda request, agent: build_package(request, agent),
    K.CORRECTION: lambda request, agent: request_correct_subject(
        request=request, changes={"email": "aziza.tursunova@mail.uz"}, actor=agent),
    K.ERASURE: lambda request, agent: (request_erase(request=request, actor=agent),
                                       tick_off_every_task(request, agent)),
    K.CONSENT_WITHDRAWAL: lambda request, agent: request_withdraw_consents(
        request=request, consents=list(consents_to_withdraw(request)), actor=agent),
    K.ADVERTISING_OBJECTION: lambda request, agent: request_withdraw_consents(
        request=request, consents=list(consents_to_withdraw(request)), actor=agent),
    K.STOP: lambda request, agent: request_stop_processing(request=request, actor=agent),
    K.COMPLAINT: None,  # answered by the written response itself
}


def test_every_kind_has_its_rule_for_done():
    assert set(DONE_NEEDS) == set(K.values) == set(WORK)


@pytest.mark.parametrize("kind", K.values)
def test_no_kind_closes_done_or_drafts_a_done_letter_before_its_work_is_on_record(support_agent, kind):
    request = in_progress(support_agent, kind)
    if WORK[kind] is None:
        assert fresh(request).work_missing() == ""
    else:
        history = request.history.count()
        with pytest.raises(ValidationError) as refused:
            request_move(request=request, status=S.DONE, actor=support_agent, response_text="Done.")
        assert refused.value.messages == [str(fresh(request).work_missing())]
        with pytest.raises(ValidationError):
            response_from_template(fresh(request), "done")
        assert (fresh(request).status, request.history.count()) == (S.IN_PROGRESS, history)  # nothing written
        WORK[kind](fresh(request), support_agent)

    letter = response_from_template(fresh(request), "done")
    closed = request_move(request=request, status=S.DONE, actor=support_agent, response_text=letter)

    assert (closed.status, closed.response_text) == (S.DONE, letter)


def test_the_reproduction_a_withdrawal_no_longer_closes_done_with_the_consent_in_force(support_agent):
    request = in_progress(support_agent, K.CONSENT_WITHDRAWAL)
    with pytest.raises(ValidationError, match="Record the withdrawal of the consents"):
        request_move(request=request, status=S.DONE, actor=support_agent, response_text="Your consent is withdrawn.")
    assert Consent.objects.filter(subject=request.subject).in_force().count() == 2


def test_the_withdrawal_step_withdraws_what_the_subject_chose_in_the_ledger(support_agent):
    request = in_progress(support_agent, K.CONSENT_WITHDRAWAL)
    processor, advertising = consents_to_withdraw(request)
    assert (advertising.purpose.clause, processor.recipient_kind) == ("1.3.2.5", "processor")

    request = request_withdraw_consents(request=request, consents=[advertising], actor=support_agent)

    assert request.carried_out_at is not None
    assert list(Consent.objects.filter(subject=request.subject).in_force()) == [processor]
    withdrawal = ConsentEvent.objects.get(consent=advertising, kind=ConsentEvent.Kind.WITHDRAW)
    assert (withdrawal.evidence_reference, withdrawal.channel, withdrawal.recorded_by_username) == (
        f"DSR #{request.pk}", "call_centre", support_agent.username)
    assert request.history.latest().history_change_reason == f"Request #{request.pk}: 1 consents withdrawn"
    assert fresh(request).work_missing() == ""


def test_an_objection_to_advertising_offers_and_withdraws_only_the_advertising_consent(support_agent):
    request = in_progress(support_agent, K.ADVERTISING_OBJECTION)
    assert [consent.purpose.clause for consent in consents_to_withdraw(request)] == ["1.3.2.5"]
    processor = Consent.objects.get(subject=request.subject, recipient_kind="processor")
    with pytest.raises(ValidationError, match="Only consents of this subject that are in force"):
        request_withdraw_consents(request=request, consents=[processor], actor=support_agent)


@pytest.mark.parametrize("situation", ["another subject's consent", "nothing chosen", "a consent withdrawn already",
                                       "another kind of request", "closed request"])
def test_the_withdrawal_step_refuses_and_changes_nothing(support_agent, situation):
    kind = K.ACCESS if situation == "another kind of request" else K.CONSENT_WITHDRAWAL
    request = in_progress(support_agent, kind)
    chosen = list(consents_to_withdraw(request))
    if situation == "another subject's consent":
        chosen = [grant(DataSubjectFactory(), "1.3.2.5")]
    elif situation == "nothing chosen":
        chosen = []
    elif situation == "a consent withdrawn already":
        request_withdraw_consents(request=request, consents=chosen[:1], actor=support_agent)
        request = fresh(request)
    elif situation == "closed request":
        request = request_move(request=request, status=S.REFUSED, actor=support_agent, response_text="Refused.")
    events, history = ConsentEvent.objects.count(), request.history.count()

    with pytest.raises(ValidationError):
        request_withdraw_consents(request=request, consents=chosen, actor=support_agent)

    assert (ConsentEvent.objects.count(), request.history.count()) == (events, history)


def test_with_no_consent_in_force_the_step_records_that_there_was_nothing_to_withdraw(support_agent):
    request = in_progress(support_agent, K.CONSENT_WITHDRAWAL, subject=DataSubjectFactory())
    assert list(consents_to_withdraw(request)) == []
    request = request_withdraw_consents(request=request, consents=[], actor=support_agent)
    assert request.carried_out_at
    assert request.history.latest().history_change_reason == f"Request #{request.pk}: 0 consents withdrawn"


def test_the_agent_withdraws_from_the_request_page(client, support_agent):
    request = in_progress(support_agent, K.CONSENT_WITHDRAWAL)
    processor, advertising = consents_to_withdraw(request)
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    change = reverse("admin:rights_requests_subjectrequest_change", args=[request.pk])
    url = reverse("admin:rights_requests_subjectrequest_withdraw", args=[request.pk])
    assert url in client.get(change).content.decode()
    page = client.get(url).content.decode()
    assert "Withdraw consents (1.5)" in page and page.count('type="checkbox"') == 2

    response = client.post(url, {"consents": [processor.pk]}, follow=True)

    assert "the withdrawal is recorded in the consent ledger" in response.content.decode()
    assert list(Consent.objects.filter(subject=request.subject).in_force()) == [advertising]


def test_an_erasure_with_open_tasks_waits_and_closes_done_only_once_every_task_is_done(support_agent):
    request = in_progress(support_agent, K.ERASURE)
    request_erase(request=request, actor=support_agent)
    request = fresh(request)
    tasks = list(request.open_tasks())
    assert request.status == S.WAITING_SYSTEMS and len(tasks) > 1

    with pytest.raises(ValidationError, match=f"{len(tasks)} tasks for other systems' owners are still open"):
        request_move(request=request, status=S.DONE, actor=support_agent, response_text="Your data is erased.")
    with pytest.raises(ValidationError, match="still open"):
        response_from_template(request, "done")  # the letter would list them as open
    for task in tasks[:-1]:
        erasure_task_done(item=task, actor=support_agent)
    assert fresh(request).status == S.WAITING_SYSTEMS
    with pytest.raises(ValidationError, match="1 tasks for other systems' owners are still open"):
        request_move(request=request, status=S.DONE, actor=support_agent, response_text="Your data is erased.")

    erasure_task_done(item=tasks[-1], actor=support_agent, note="Deleted in the CRM")

    request = fresh(request)
    assert request.status == S.IN_PROGRESS
    assert request.history.latest().history_change_reason.endswith("every task for other systems is done")
    letter = response_from_template(request, "done")
    assert "— open" not in letter and letter.count("— done") == len(tasks)
    assert request_move(request=request, status=S.DONE, actor=support_agent, response_text=letter).status == S.DONE


@pytest.fixture
def officer_who_may_override(compliance_officer):
    assert compliance_officer.has_perm("rights_requests.override_open_tasks")  # the role grants it
    return compliance_officer


def waiting_erasure(agent):
    request = in_progress(agent, K.ERASURE)
    request_erase(request=request, actor=agent)
    return fresh(request)


def test_a_compliance_officer_lets_an_erasure_close_with_open_tasks_and_the_letter_says_so(
        support_agent, officer_who_may_override):
    request = waiting_erasure(support_agent)
    tasks = request.open_tasks().count()

    request = erasure_override_open_tasks(request=request, actor=officer_who_may_override,
                                          reason="The call-centre system is switched off; its owner confirmed it.")

    assert (request.status, request.tasks_overridden_by_username) == (S.IN_PROGRESS, "nodira")
    assert request.tasks_override_reason.startswith("The call-centre system is switched off")
    assert f"may close with {tasks} open tasks: The call-centre" in request.history.latest().history_change_reason
    letter = response_from_template(request, "done")
    assert "— open" not in letter and letter.count("passed on to the owner, not yet confirmed") == tasks
    assert request_move(request=request, status=S.DONE, actor=support_agent, response_text=letter).status == S.DONE
    assert request.open_tasks().count() == tasks  # still to be ticked off by the owners


@pytest.mark.parametrize(("who", "reason", "message"), [
    ("support agent", "Owner unreachable", "Only a compliance officer"),
    ("auditor", "Owner unreachable", "Only a compliance officer"),
    ("officer", "  ", "Say why"),
])
def test_the_override_is_refused_and_changes_nothing(support_agent, auditor, officer_who_may_override,
                                                     who, reason, message):
    actor = {"support agent": support_agent, "auditor": auditor, "officer": officer_who_may_override}[who]
    request = waiting_erasure(support_agent)
    history = request.history.count()
    with pytest.raises(ValidationError, match=message):
        erasure_override_open_tasks(request=request, actor=actor, reason=reason)
    assert (fresh(request).status, request.history.count()) == (S.WAITING_SYSTEMS, history)


def test_no_override_for_an_erasure_that_is_not_waiting(support_agent, officer_who_may_override):
    request = in_progress(support_agent, K.ERASURE)
    with pytest.raises(ValidationError, match="is not waiting for other systems"):
        erasure_override_open_tasks(request=request, actor=officer_who_may_override, reason="Owner unreachable")


def test_the_override_page_is_for_the_permission_only(client, support_agent, officer_who_may_override):
    request = waiting_erasure(support_agent)
    url = reverse("admin:rights_requests_subjectrequest_override", args=[request.pk])
    change = reverse("admin:rights_requests_subjectrequest_change", args=[request.pk])
    client.force_login(support_agent)
    assert url not in client.get(change).content.decode()
    assert client.post(url, {"reason": "Owner unreachable"}).status_code == 403
    assert fresh(request).status == S.WAITING_SYSTEMS

    client.force_login(officer_who_may_override)
    client.cookies["django_language"] = "en"
    page = client.get(change).content.decode()
    assert url in page and "Waiting for other systems" in page
    response = client.post(url, {"reason": "Owner unreachable since May"}, follow=True)
    assert "its open tasks stay open to be ticked off" in response.content.decode()
    assert fresh(request).tasks_override_reason == "Owner unreachable since May"


STEP_KINDS = {K.ACCESS: (K.ACCESS, K.INFORMATION), K.ERASURE: (K.ERASURE,), K.CORRECTION: (K.CORRECTION,),
              K.CONSENT_WITHDRAWAL: (K.CONSENT_WITHDRAWAL, K.ADVERTISING_OBJECTION), K.STOP: (K.STOP,)}


@pytest.mark.parametrize("kinds", STEP_KINDS.values(), ids=list(STEP_KINDS))
def test_the_model_and_its_queryset_agree_on_which_requests_may_be_worked_on(support_agent, kinds):
    subject = DataSubjectFactory()
    requests = []
    for kind in (K.ACCESS, K.ERASURE, K.CORRECTION):
        unmatched = request_receive(kind=kind, channel="app", actor=support_agent)
        matched = request_receive(kind=kind, channel="app", actor=support_agent, subject=subject)
        verified = request_verify_identity(request=request_receive(kind=kind, channel="app", actor=support_agent,
                                                                   subject=subject), method="app_login",
                                           actor=support_agent)
        closed = request_move(request=request_verify_identity(request=request_receive(
            kind=kind, channel="app", actor=support_agent, subject=subject), method="app_login", actor=support_agent),
            status=S.REFUSED, actor=support_agent, response_text="Refused.")
        requests += [unmatched, matched, verified, closed]

    def workable(request) -> bool:
        try:
            fresh(request).refuse_unless_workable(*kinds)
        except ValidationError:
            return False
        return True

    expected = {request.pk for request in requests if workable(request)}
    assert set(SubjectRequest.objects.workable(*kinds).values_list("pk", flat=True)) == expected


def test_the_move_page_drafts_no_done_letter_while_tasks_are_open(client, support_agent):
    request = waiting_erasure(support_agent)
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"

    response = client.get(reverse("admin:rights_requests_subjectrequest_move", args=[request.pk]),
                          {"template": "done"})

    assert response.status_code == 200
    assert "tasks for other systems&#x27; owners are still open" in response.content.decode()
    assert response.context["form"].initial.get("response_text", "") == ""
    assert "waiting_systems" not in dict(response.context["form"].fields["status"].choices)
