"""Issue 13: only valid moves offered, the identity check moves the request on, closing with the
template's answer in one step, and the match step pre-filled with one-click candidates."""

import pytest
from django.urls import reverse

from shipex_privacy.rights_requests.models import SubjectRequest
from shipex_privacy.rights_requests.services import (
    request_match_subject,
    request_move,
    request_receive,
    request_verify_and_start,
)
from tests.rights_requests.factories import SubjectRequestFactory
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db
S = SubjectRequest.Status


def url(name, request):
    return reverse(f"admin:rights_requests_subjectrequest_{name}", args=[request.pk])


@pytest.fixture
def agent(client, support_agent):
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    return client


@pytest.mark.parametrize(("status", "verified", "moves"), [
    (S.NEW, False, [S.VERIFYING, S.REFUSED]),
    (S.VERIFYING, False, [S.REFUSED]),  # in progress needs the identity check first
    (S.VERIFYING, True, [S.IN_PROGRESS, S.REFUSED]),
    (S.IN_PROGRESS, True, [S.WAITING, S.DONE, S.REFUSED]),
    (S.WAITING_SYSTEMS, True, [S.DONE]),
    (S.DONE, True, []),
])
def test_allowed_moves_are_the_workflows_from_the_current_state(status, verified, moves):
    request = SubjectRequest(status=status, identity_verified_at="2026-12-01T10:00Z" if verified else None)
    assert request.allowed_moves() == moves


def test_the_move_page_offers_only_the_allowed_moves(agent):
    request = SubjectRequestFactory()
    choices = [value for value, _label in agent.get(url("move", request)).context["form"].fields["status"].choices]
    assert choices == ["verifying", "refused"]
    response = agent.post(url("move", request), {"status": "done", "response_text": "x"})
    assert response.status_code == 200 and "status" in response.context["form"].errors  # not offered, not done
    request.refresh_from_db()
    assert request.status == S.NEW


def test_the_match_page_is_prefilled_and_an_exact_match_is_one_click(agent, support_agent):
    subject = DataSubjectFactory()
    request = request_receive(kind="access", channel="phone", actor=support_agent, requester_name="Malika",
                              requester_contact=subject.phone)
    page = agent.get(url("match", request))
    assert page.context["form"].initial["term"] == subject.phone
    assert [value for value, _label in page.context["choice_buttons"]] == [subject.account_id]
    assert f'name="term" value="{subject.account_id}"' in page.content.decode()
    response = agent.post(url("match", request), {"term": subject.account_id})  # the one click
    assert response.status_code == 302 and response["Location"] == url("verify", request)
    request.refresh_from_db()
    assert request.subject_id == subject.pk


def test_the_match_page_says_when_the_given_contact_finds_nobody(agent, support_agent):
    request = request_receive(kind="access", channel="phone", actor=support_agent, requester_name="Malika",
                              requester_contact="by phone")
    page = agent.get(url("match", request))
    assert page.context["choice_buttons"] == []
    assert "No subject has exactly this phone" in page.content.decode()


def test_recording_the_identity_check_moves_the_request_on_to_its_work(agent, support_agent):
    subject = DataSubjectFactory()
    request = request_match_subject(request=SubjectRequestFactory(), term=subject.account_id, actor=support_agent)
    page = agent.get(url("verify", request)).content.decode()
    assert 'name="method" value="sms_code"' in page
    response = agent.post(url("verify", request), {"method": "sms_code"})  # the one click
    assert response.status_code == 302 and response["Location"] == url("build", request)
    request.refresh_from_db()
    assert (request.status, request.identity_method) == (S.IN_PROGRESS, "sms_code")
    events = list(request.history.order_by("history_id").values_list("history_change_reason", flat=True))
    assert len(events) >= 3 and "Identity verified" in events[-3]  # the check, then each move, on record


def test_a_bad_identity_method_is_refused_and_changes_nothing(agent, support_agent):
    subject = DataSubjectFactory()
    request = request_match_subject(request=SubjectRequestFactory(), term=subject.account_id, actor=support_agent)
    response = agent.post(url("verify", request), {"method": "guessed"})
    assert response.status_code == 200
    request.refresh_from_db()
    assert (request.status, request.identity_verified_at) == (S.NEW, None)


def closable_complaint(support_agent):
    subject = DataSubjectFactory(preferred_language="en", full_name="Otabek Yusupov")
    request = request_receive(kind="complaint", channel="email", actor=support_agent, subject=subject)
    request = request_move(request=request, status=S.VERIFYING, actor=support_agent)
    return request_verify_and_start(request=request, method="registered_email", actor=support_agent)


def test_closing_with_the_templates_answer_is_one_step_with_a_preview(agent, support_agent):
    request = closable_complaint(support_agent)
    assert request.status == S.IN_PROGRESS
    preview = agent.get(url("close", request))
    draft = preview.context["form"].initial["response_text"]
    assert "Otabek Yusupov" in draft and draft in preview.content.decode()  # shown before it is sent
    request.refresh_from_db()
    assert request.status == S.IN_PROGRESS  # looking changes nothing
    response = agent.post(url("close", request), {"response_text": draft, "note": ""})  # the one confirm
    assert response.status_code == 302
    request.refresh_from_db()
    assert (request.status, request.response_text) == (S.DONE, draft)


def test_closing_an_access_request_without_its_package_is_said_first_and_refused(agent, support_agent):
    subject = DataSubjectFactory(preferred_language="en")
    request = request_match_subject(request=SubjectRequestFactory(), term=subject.account_id, actor=support_agent)
    agent.post(url("verify", request), {"method": "sms_code"})
    preview = agent.get(url("close", request))
    assert any("package" in str(note) for note in preview.context["notes"])
    response = agent.post(url("close", request), {"response_text": "Here it is.", "note": ""}, follow=True)
    assert "package" in " ".join(str(message) for message in response.context["messages"])
    request.refresh_from_db()
    assert request.status == S.IN_PROGRESS


def test_the_erasure_shows_what_will_happen_before_it_is_confirmed(agent, support_agent):
    from datetime import timedelta

    from django.utils import timezone

    from shipex_privacy.catalogue.models import PersonalDataField, Purpose
    from shipex_privacy.consents.services import Evidence, consent_grant
    from tests.consents.factories import PolicyVersionFactory

    subject = DataSubjectFactory(passport="AB1234567")
    consent_grant(subject=subject, purpose=Purpose.objects.get(clause="1.3.2.5"), actor=None,
                  policy_version=PolicyVersionFactory(published=True), evidence=Evidence(channel="app"),
                  occurred_at=timezone.now() - timedelta(days=1))
    request = request_receive(kind="erasure", channel="app", actor=support_agent, subject=subject)
    request = request_verify_and_start(request=request, method="app_login", actor=support_agent)

    page = agent.get(url("erase", request))

    preview = dict(page.context["preview"])
    phone = PersonalDataField.objects.get(binding="subjects.DataSubject.phone")
    passport = PersonalDataField.objects.get(binding="subjects.DataSubject.passport")
    assert phone.name in preview["Erased or anonymised here"]
    kept = " ".join(preview["Kept"])
    assert passport.name in kept and passport.retention_rule.legal_reference in kept  # under which law
    assert any("1.3.2.5" in line for line in preview["Consents withdrawn"])
    assert preview["Tasks for other systems' owners"]  # held elsewhere: which system's owner gets it
    assert "What will happen" in page.content.decode()
    subject.refresh_from_db()
    assert subject.phone and not request.erasure_items.exists()  # the preview writes nothing


def test_stopping_processing_shows_what_will_happen_first(agent, support_agent):
    subject = DataSubjectFactory()
    request = request_receive(kind="stop", channel="app", actor=support_agent, subject=subject)
    request = request_verify_and_start(request=request, method="app_login", actor=support_agent)
    preview = dict(agent.get(url("stop", request)).context["preview"])
    assert preview["Logged out"] and preview["Consents withdrawn"] == []
    subject.refresh_from_db()
    assert subject.status == "active"
