"""The request workflow: matching, identity, the state machine's refusals, duplicates, deadlines, queues."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from shipex_privacy.rights_requests.access_package import access_package_build
from shipex_privacy.rights_requests.models import DeadlineChange, DeadlineRule, ResponseTemplate, SubjectRequest
from shipex_privacy.rights_requests.services import (
    request_assign,
    request_extend,
    request_match_subject,
    request_move,
    request_pause,
    request_receive,
    request_resume,
    request_verify_identity,
)
from tests.rights_requests.factories import SubjectRequestFactory
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db
S = SubjectRequest.Status


def received(agent, kind="access", subject=None, **values):
    return request_receive(kind=kind, channel="phone", actor=agent, subject=subject, **values)


def at_status(agent, status, *, verified=True):
    """A request brought to ``status`` through the services, the way an agent would."""
    subject = DataSubjectFactory()
    request = received(agent, subject=subject)
    if verified:
        request_verify_identity(request=request, method="sms_code", actor=agent)
    path = {S.NEW: [], S.VERIFYING: [S.VERIFYING], S.IN_PROGRESS: [S.VERIFYING, S.IN_PROGRESS],
            S.WAITING: [S.VERIFYING, S.IN_PROGRESS, S.WAITING], S.DONE: [S.VERIFYING, S.IN_PROGRESS, S.DONE],
            S.REFUSED: [S.REFUSED]}[status]
    for step in path:
        if step == S.DONE:  # an access request is done once its package is built
            access_package_build(request=request, actor=agent)
        request = request_move(request=request, status=step, actor=agent,
                               response_text="Javob" if step in SubjectRequest.CLOSED else None)
    return SubjectRequest.objects.get(pk=request.pk)


def test_an_agent_takes_a_request_from_phone_call_to_done(support_agent):
    subject = DataSubjectFactory(phone="+998901234567")
    request = received(support_agent, requester_name="Aziza", requester_contact="90 123 45 67")
    assert (request.status, request.subject) == (S.NEW, None)
    request_match_subject(request=request, term="+998 90 123 45 67", actor=support_agent)
    request_move(request=request, status=S.VERIFYING, actor=support_agent)
    request_verify_identity(request=request, method="sms_code", actor=support_agent)
    for status in (S.IN_PROGRESS, S.WAITING, S.IN_PROGRESS):
        request_move(request=request, status=status, actor=support_agent)
    access_package_build(request=request, actor=support_agent)
    request_move(request=request, status=S.DONE, actor=support_agent, response_text="Maʼlumotlaringiz ilova qilindi.")
    request.refresh_from_db()
    assert (request.subject, request.status, request.identity_verified_by_username) == (subject, S.DONE, "jasur")
    assert request.closed_at is not None
    reasons = [row.history_change_reason for row in request.history.order_by("history_date", "history_id")]
    assert reasons[:3] == [
        "Received via Phone", f"Matched to subject {subject.account_id}", "Moved to “Verifying identity”"]
    assert reasons[-1] == "Moved to “Done”"


MOVES = [
    # from, to, identity verified, message
    (S.NEW, S.IN_PROGRESS, True, "cannot move to “In progress”"),
    (S.NEW, S.DONE, True, "cannot move to “Done”"),
    (S.VERIFYING, S.IN_PROGRESS, False, "Verify the requester's identity"),
    (S.VERIFYING, S.WAITING, True, "cannot move to “Waiting for the subject”"),
    (S.IN_PROGRESS, S.VERIFYING, True, "cannot move to “Verifying identity”"),
    (S.IN_PROGRESS, S.DONE, True, "Write the response"),
    (S.WAITING, S.REFUSED, True, "Write the response"),
    (S.NEW, S.REFUSED, False, "Write the response"),
    (S.DONE, S.IN_PROGRESS, True, "is done; it cannot move"),
    (S.REFUSED, S.NEW, False, "is refused; it cannot move"),
    (S.NEW, "archived", False, "is not a request status"),
]


@pytest.mark.parametrize(("start", "target", "verified", "message"), MOVES)
def test_moves_the_workflow_does_not_allow_are_refused(support_agent, start, target, verified, message):
    request = at_status(support_agent, start, verified=verified)
    history = request.history.count()
    with pytest.raises(ValidationError) as refused:
        request_move(request=request, status=target, actor=support_agent)
    assert message in " ".join(refused.value.messages)
    request.refresh_from_db()
    assert (request.status, request.history.count()) == (start, history)  # nothing written


def test_refusing_with_a_written_response_closes_the_request(support_agent):
    request = at_status(support_agent, S.NEW, verified=False)
    request_move(request=request, status=S.REFUSED, actor=support_agent,
                 response_text="Shaxsingizni tasdiqlab boʻlmadi.")
    request.refresh_from_db()
    assert (request.status, request.is_open) == (S.REFUSED, False)


def test_identity_is_verified_only_for_a_matched_subject_and_once(support_agent):
    request = received(support_agent)
    with pytest.raises(ValidationError, match="Match the request to a subject"):
        request_verify_identity(request=request, method="document", actor=support_agent)
    with pytest.raises(ValidationError, match="No subject matches"):
        request_match_subject(request=request, term="SX0000000", actor=support_agent)
    subject = DataSubjectFactory()
    request_match_subject(request=request, term=subject.pinfl, actor=support_agent)
    request_verify_identity(request=request, method="document", actor=support_agent)
    with pytest.raises(ValidationError, match="already verified"):
        request_verify_identity(request=request, method="document", actor=support_agent)
    with pytest.raises(ValidationError, match="the match cannot change"):
        request_match_subject(request=request, term=subject.account_id, actor=support_agent)


def test_an_open_request_of_the_same_kind_for_the_same_subject_is_a_duplicate(support_agent):
    subject = DataSubjectFactory()
    first = received(support_agent, subject=subject)
    second = received(support_agent, subject=subject)
    other_kind = received(support_agent, kind="erasure", subject=subject)
    other_subject = received(support_agent, subject=DataSubjectFactory())
    assert (second.duplicate_of, second.is_duplicate) == (first, True)
    assert not first.is_duplicate and not other_kind.is_duplicate and not other_subject.is_duplicate
    # Matched later: flagged then.
    unknown = received(support_agent, kind="erasure")
    request_match_subject(request=unknown, term=subject.account_id, actor=support_agent)
    unknown.refresh_from_db()
    assert unknown.duplicate_of == other_kind


def test_a_closed_request_is_no_original(support_agent):
    closed = at_status(support_agent, S.DONE)
    again = received(support_agent, subject=closed.subject)
    assert not again.is_duplicate


@pytest.mark.parametrize("reason", ["", "   "])
def test_extending_or_pausing_needs_a_reason(support_agent, reason):
    request = received(support_agent)
    due = request.due_at
    with pytest.raises(ValidationError, match="Say why the deadline is extended"):
        request_extend(request=request, days=10, reason=reason, actor=support_agent)
    with pytest.raises(ValidationError, match="Say why the request is paused"):
        request_pause(request=request, reason=reason, actor=support_agent)
    request.refresh_from_db()
    assert (request.due_at, request.paused_at, DeadlineChange.objects.count()) == (due, None, 0)


def test_an_extension_moves_the_deadline_and_is_kept_with_its_reason(support_agent):
    request = received(support_agent)
    due = request.due_at
    request_extend(request=request, days=15, reason="Subject sent more documents; ZRU-547 art. 22", actor=support_agent)
    request.refresh_from_db()
    assert request.due_at == due + timedelta(days=15)
    change = request.deadline_changes.get()
    assert (change.kind, change.days, change.due_before, change.due_after, change.by_username) == (
        "extension", 15, due, request.due_at, "jasur")
    assert request.history.latest().history_change_reason == "Subject sent more documents; ZRU-547 art. 22"
    with pytest.raises(ValidationError, match="at least one day"):
        request_extend(request=request, days=0, reason="No", actor=support_agent)


def test_a_paused_request_is_neither_overdue_nor_due_soon_and_resumes_later(support_agent):
    request = received(support_agent, received_at=timezone.now() - timedelta(days=40))
    assert SubjectRequest.objects.overdue().filter(pk=request.pk).exists()
    request_pause(request=request, reason="Legal hold: court order 2-1234/2026", actor=support_agent)
    assert not SubjectRequest.objects.overdue().exists()
    with pytest.raises(ValidationError, match="already paused"):
        request_pause(request=request, reason="Again", actor=support_agent)
    SubjectRequest.objects.filter(pk=request.pk).update(paused_at=timezone.now() - timedelta(days=19, hours=1))
    due = request.due_at
    request_resume(request=request, reason="Hold lifted", actor=support_agent)
    request.refresh_from_db()
    assert (request.paused_at, request.due_at) == (None, due + timedelta(days=20))  # a part day counts whole
    assert list(request.deadline_changes.values_list("kind", flat=True)) == ["pause", "resume"]


def test_queues_overdue_due_soon_open_mine_unassigned(support_agent):
    now = timezone.now()
    overdue = SubjectRequestFactory(due_at=now - timedelta(hours=1))
    soon = SubjectRequestFactory(due_at=now + timedelta(days=2))
    later = SubjectRequestFactory(due_at=now + timedelta(days=20))
    closed_late = at_status(support_agent, S.REFUSED, verified=False)
    SubjectRequest.objects.filter(pk=closed_late.pk).update(due_at=now - timedelta(days=5))
    request_assign(request=soon, assignee=support_agent, actor=support_agent)
    requests = SubjectRequest.objects
    assert set(requests.overdue()) == {overdue}
    assert set(requests.due_soon(3)) == {soon}
    assert set(requests.due_soon(30)) == {soon, later}
    assert set(requests.open()) == {overdue, soon, later}
    assert set(requests.mine(support_agent)) == {soon}
    assert set(requests.open().unassigned()) == {overdue, later}
    assert overdue.is_overdue and not soon.is_overdue


def test_only_staff_who_work_on_requests_are_assigned(support_agent, auditor):
    request = received(support_agent)
    with pytest.raises(ValidationError, match="cannot work on requests"):
        request_assign(request=request, assignee=auditor, actor=support_agent)
    request_assign(request=request, assignee=support_agent, actor=support_agent)
    request_assign(request=request, assignee=support_agent, actor=support_agent)  # no change, no history row
    request.refresh_from_db()
    assert (request.assignee_id, request.assignee_username) == (support_agent.pk, "jasur")
    assert request.history.filter(history_change_reason="Assigned to jasur").count() == 1


@pytest.mark.parametrize(("kind", "message"), [
    ("access", "Build the access package before closing the request as done."),
    ("information", "Build the access package before closing the request as done."),
    ("erasure", "Carry out the erasure before closing the request as done."),
    ("stop", "Stop processing for the subject before closing the request as done."),
])
def test_a_request_is_done_only_once_its_work_is_on_record(support_agent, kind, message):
    request = received(support_agent, kind=kind, subject=DataSubjectFactory())
    request_verify_identity(request=request, method="sms_code", actor=support_agent)
    for step in (S.VERIFYING, S.IN_PROGRESS):
        request_move(request=request, status=step, actor=support_agent)
    with pytest.raises(ValidationError, match=message):
        request_move(request=request, status=S.DONE, actor=support_agent, response_text="Done.")
    request_move(request=request, status=S.REFUSED, actor=support_agent, response_text="Refused: why.")
    request.refresh_from_db()
    assert request.status == S.REFUSED  # refusing needs no work, only the reasons


def test_an_extension_drafts_the_letter_in_the_subjects_language_with_the_reason_and_new_deadline(support_agent):
    subject = DataSubjectFactory(preferred_language="ru")
    request = received(support_agent, subject=subject)
    request_extend(request=request, days=5, reason="Нужны документы из архива", actor=support_agent)
    request.refresh_from_db()
    change = request.deadline_changes.get()
    assert f"№ {request.pk}" in change.letter and "продлён до" in change.letter
    assert f"{timezone.localtime(request.due_at):%d.%m.%Y}" in change.letter
    assert "Нужны документы из архива" in change.letter
    assert subject.full_name not in change.letter  # kept with the change, which erasure does not touch
    assert not change.beyond_rule


def test_beyond_the_rule_an_agent_is_refused_and_a_compliance_officer_approves(support_agent, compliance_officer):
    DeadlineRule.objects.filter(kind="access").update(extension_days=10)
    request = received(support_agent)
    request_extend(request=request, days=6, reason="Archive", actor=support_agent)
    due = SubjectRequest.objects.get(pk=request.pk).due_at
    with pytest.raises(ValidationError, match="extended by 10 days in all; with this extension it would be 11"):
        request_extend(request=request, days=5, reason="More archive", actor=support_agent)
    request.refresh_from_db()
    assert (request.due_at, request.deadline_changes.count()) == (due, 1)
    request_extend(request=request, days=5, reason="More archive", actor=compliance_officer)
    change = request.deadline_changes.latest("at")
    assert (change.beyond_rule, change.by_username, change.days) == (True, "nodira", 5)
    assert change.history.latest().history_change_reason == "More archive"


def test_without_an_extension_template_nothing_is_extended(support_agent):
    ResponseTemplate.objects.filter(outcome="extended", kind="access", language="uz").delete()
    request = received(support_agent, subject=DataSubjectFactory(preferred_language="uz"))
    due = request.due_at
    with pytest.raises(ValidationError, match="no response template"):
        request_extend(request=request, days=3, reason="Archive", actor=support_agent)
    request.refresh_from_db()
    assert (request.due_at, request.deadline_changes.count()) == (due, 0)


@pytest.mark.parametrize("placeholder", ["{subject_name}", "{erasure_report}", "{package_sha256}"])
def test_an_extension_template_may_not_name_the_person(placeholder):
    template = ResponseTemplate(kind="access", outcome="extended", language="en",
                                body=f"Dear {placeholder}, {{due_on}}")
    with pytest.raises(ValidationError, match="An extension letter may use only"):
        template.clean()
