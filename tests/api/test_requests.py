"""POST /api/v1/requests and GET /api/v1/requests/{id}: requests the user made in a ShipEx app."""

import json
import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from shipex_privacy.audit.events import AuditEvent
from shipex_privacy.audit.models import AccessEvent, TrailEntry
from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.models import System
from shipex_privacy.integrations.models import ReceivedRequest, Scope
from shipex_privacy.rights_requests.models import SubjectRequest
from shipex_privacy.rights_requests.services import request_assign, request_pause, request_receive
from shipex_privacy.subjects.models import DataSubject
from tests.integrations.factories import bearer, make_api_client
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/requests"
PROBLEM = "application/problem+json"


@pytest.fixture
def app():
    """The mobile app's client (both request scopes) and its secret."""
    return make_api_client(name="mobile-app", scopes=[Scope.REQUESTS_WRITE, Scope.REQUESTS_READ],
                           system=System.objects.get(code="shipex-app"))  # seeded by catalogue 0002


@pytest.fixture
def subject():
    return DataSubjectFactory(preferred_language="ru")


def post(client, secret, body, **headers):
    return client.post(URL, data=json.dumps(body), content_type="application/json", **bearer(secret), **headers)


def get(client, secret, pk, **headers):
    return client.get(f"{URL}/{pk}", **bearer(secret), **headers)


def test_a_request_made_in_the_app_arrives_verified_with_its_number_and_due_date(client, app, subject):
    api_client, secret = app
    response = post(client, secret, {"kind": "access", "account_id": subject.account_id.lower(),
                                     "details": "  Please send me everything.  "})

    assert response.status_code == 201, response.content
    body = response.json()
    made = SubjectRequest.objects.get()
    assert body["id"] == made.pk and body["kind"] == "access" and body["status"] == "new"
    assert body["due_date"] == timezone.localdate(made.due_at).isoformat()
    assert body["identity_verified"] is True and body["overdue"] is False and body["paused"] is False
    assert body["replayed"] is False and body["client_reference"] is None and body["duplicate_of"] is None
    assert response["Location"] == f"{URL}/{made.pk}"
    assert response["ETag"] == get(client, secret, made.pk)["ETag"]
    assert (made.channel, made.subject, made.details, made.response_language) == (
        "app", subject, "Please send me everything.", "ru")
    assert (made.identity_method, made.identity_verified_by_username, made.identity_verified_by_id) == (
        SubjectRequest.IdentityMethod.APP_LOGIN, "api:mobile-app", None)
    assert ReceivedRequest.objects.get().client == api_client


def test_history_names_the_client_with_the_request_events_and_a_reason(client, app, subject):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    _client, secret = app
    post(client, secret, {"kind": "stop", "account_id": subject.account_id}, HTTP_X_REASON="Asked on the profile page")
    made = SubjectRequest.objects.get()

    rows = list(made.history.order_by("history_id"))
    assert [row.history_username for row in rows] == ["api:mobile-app", "api:mobile-app"]
    assert rows[0].history_change_reason == "Asked on the profile page"
    assert rows[1].history_change_reason == "Identity verified: Signed in to the ShipEx app"
    assert rows[0].history_ip == "127.0.0.1"
    events = TrailEntry.objects.filter(model="rights_requests.subjectrequest", object_id=str(made.pk))
    assert sorted(events.values_list("event", "username")) == sorted([
        (AuditEvent.REQUEST_RECEIVED, "api:mobile-app"), (AuditEvent.REQUEST_VERIFIED, "api:mobile-app")])


def test_without_a_reason_the_history_names_the_kind_and_its_clause(client, app, subject):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    post(client, app[1], {"kind": "correction", "account_id": subject.account_id})
    first = SubjectRequest.objects.get().history.earliest("history_id")
    assert first.history_change_reason == "Request made in the ShipEx app: Correction (1.5.1)"


def test_the_answer_goes_out_in_the_language_the_user_chose(client, app, subject):
    post(client, app[1], {"kind": "access", "account_id": subject.account_id, "language": "uz"})
    assert SubjectRequest.objects.get().response_language == "uz"


@pytest.mark.parametrize(("body", "field", "code"), [
    ({"account_id": "SX1000001"}, "kind", "required"),
    ({"kind": "holiday", "account_id": "SX1000001"}, "kind", "invalid_choice"),
    ({"kind": "access"}, "account_id", "required"),
    ({"kind": "access", "account_id": "12345"}, "account_id", "invalid_account_id"),
    ({"kind": "access", "account_id": 7}, "account_id", "invalid_account_id"),
    ({"kind": "access", "account_id": "SX1000001", "language": "de"}, "language", "invalid_choice"),
    ({"kind": "access", "account_id": "SX1000001", "details": "x" * 5001}, "details", "max_length"),
    ({"kind": "access", "account_id": "SX1000001", "details": "nul \x00"}, "details", "null_characters_not_allowed"),
    ({"kind": "access", "account_id": "SX1000001", "client_reference": "has space"}, "client_reference", "invalid"),
    ({"kind": "access", "account_id": "SX1000001", "client_reference": "r" * 101}, "client_reference",
     "max_length"),
    ({"kind": "access", "account_id": "SX1000001", "channel": "app"}, "channel", "unknown_field"),
    (["access"], "", "invalid"),
])
def test_bad_input_is_refused_per_field_and_nothing_is_received(client, app, body, field, code):
    DataSubjectFactory(account_id="SX1000001")
    response = post(client, app[1], body)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == PROBLEM
    problem = response.json()
    assert problem["code"] == "validation"
    assert {"field": field, "code": code} in [{"field": e["field"], "code": e["code"]} for e in problem["errors"]]
    assert not SubjectRequest.objects.exists()


@pytest.mark.parametrize(("headers", "body_reference", "field", "code"), [
    ({"HTTP_IDEMPOTENCY_KEY": "with space"}, None, "Idempotency-Key", "invalid"),
    ({"HTTP_IDEMPOTENCY_KEY": ""}, None, "Idempotency-Key", "invalid"),
    ({"HTTP_IDEMPOTENCY_KEY": "a-1"}, "b-2", "client_reference", "reference_mismatch"),
])
def test_a_bad_idempotency_key_is_refused(client, app, subject, headers, body_reference, field, code):
    body = {"kind": "access", "account_id": subject.account_id}
    if body_reference:
        body["client_reference"] = body_reference
    response = post(client, app[1], body, **headers)
    assert response.status_code == 400
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [(field, code)]
    assert not SubjectRequest.objects.exists()


@pytest.mark.parametrize("raw", ["null", '"access"', "42", "{", ""])
def test_a_body_that_is_no_object_is_400(client, app, raw):
    response = client.post(URL, data=raw, content_type="application/json", **bearer(app[1]))
    assert response.status_code == 400 and response["Content-Type"] == PROBLEM
    assert not SubjectRequest.objects.exists()


def test_no_token_or_a_bad_one_is_401(client, subject):
    body = json.dumps({"kind": "access", "account_id": subject.account_id})
    no_token = client.post(URL, data=body, content_type="application/json")
    bad_token = client.post(URL, data=body, content_type="application/json", **bearer("sxp_nope"))
    assert (no_token.status_code, bad_token.status_code) == (401, 401)
    assert no_token["Content-Type"] == PROBLEM and no_token["WWW-Authenticate"].startswith("Bearer")
    assert client.get(f"{URL}/1").status_code == 401
    assert not SubjectRequest.objects.exists()


def test_each_call_needs_its_own_scope(client, subject):
    _reader, read_secret = make_api_client(scopes=[Scope.REQUESTS_READ])
    writer, write_secret = make_api_client(scopes=[Scope.REQUESTS_WRITE, Scope.SUBJECTS_WRITE])
    refused = post(client, read_secret, {"kind": "access", "account_id": subject.account_id})
    assert refused.status_code == 403 and refused.json()["code"] == "missing_scope"
    assert not SubjectRequest.objects.exists()
    made = post(client, write_secret, {"kind": "access", "account_id": subject.account_id}).json()
    refused = get(client, write_secret, made["id"])
    assert refused.status_code == 403 and "requests:read" in refused.json()["detail"]
    assert not AccessEvent.objects.filter(username=f"api:{writer.name}").exists()


def test_an_unknown_subject_is_404_and_nothing_is_received(client, app):
    response = post(client, app[1], {"kind": "access", "account_id": "SX9999999"})
    assert response.status_code == 404 and response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "unknown_subject" and "SX9999999" in response.json()["detail"]
    assert not SubjectRequest.objects.exists()


@pytest.mark.parametrize("status", [DataSubject.Status.CLOSED, DataSubject.Status.ANONYMISED])
def test_an_erased_subject_is_409_erased(client, app, status):
    subject = DataSubjectFactory(status=status)
    response = post(client, app[1], {"kind": "access", "account_id": subject.account_id})
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "erased"
    assert not SubjectRequest.objects.exists() and not ReceivedRequest.objects.exists()


def test_a_second_open_request_of_the_same_kind_is_received_and_flagged_as_a_duplicate(client, app, subject):
    first = post(client, app[1], {"kind": "erasure", "account_id": subject.account_id}).json()
    second = post(client, app[1], {"kind": "erasure", "account_id": subject.account_id})
    other_kind = post(client, app[1], {"kind": "access", "account_id": subject.account_id}).json()
    assert second.status_code == 201 and second.json()["duplicate_of"] == first["id"]
    assert other_kind["duplicate_of"] is None
    assert SubjectRequest.objects.get(pk=second.json()["id"]).duplicate_of_id == first["id"]


def test_a_body_that_is_not_json_is_415(client, app, subject):
    response = client.post(URL, data=f"kind=access&account_id={subject.account_id}",
                           content_type="application/x-www-form-urlencoded", **bearer(app[1]))
    assert response.status_code == 415 and response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "unsupported_media_type"
    assert not SubjectRequest.objects.exists()


def test_calls_over_the_rate_limit_are_429_with_retry_after(client, subject):
    _slow, secret = make_api_client(scopes=[Scope.REQUESTS_WRITE, Scope.REQUESTS_READ], rate_limit=2)
    assert post(client, secret, {"kind": "access", "account_id": subject.account_id}).status_code == 201
    assert get(client, secret, SubjectRequest.objects.get().pk).status_code == 200
    response = post(client, secret, {"kind": "stop", "account_id": subject.account_id})
    assert response.status_code == 429 and response["Content-Type"] == PROBLEM
    assert int(response["Retry-After"]) > 0 and response.json()["code"] == "throttled"
    assert SubjectRequest.objects.count() == 1


@pytest.mark.parametrize("how", ["header", "field"])
def test_a_retried_call_with_the_same_reference_returns_the_first_request(client, app, subject, how):
    body = {"kind": "access", "account_id": subject.account_id}
    headers = {"HTTP_IDEMPOTENCY_KEY": "app-7f3a"} if how == "header" else {}
    if how == "field":
        body["client_reference"] = "app-7f3a"
    first = post(client, app[1], body, **headers)
    retried = post(client, app[1], body, **headers)
    assert (first.status_code, retried.status_code) == (201, 200)
    assert retried.json() == {**first.json(), "replayed": True}
    assert retried.json()["client_reference"] == "app-7f3a"
    assert retried["Location"] == first["Location"]
    assert SubjectRequest.objects.count() == 1 and ReceivedRequest.objects.get().reference == "app-7f3a"
    assert SubjectRequest.objects.get().history.count() == 2  # received, verified: the retry wrote nothing


def test_a_reference_used_for_another_request_is_409(client, app, subject):
    post(client, app[1], {"kind": "access", "account_id": subject.account_id, "client_reference": "r-1"})
    response = post(client, app[1], {"kind": "erasure", "account_id": subject.account_id, "client_reference": "r-1"})
    assert response.status_code == 409 and response.json()["code"] == "reference_reused"
    assert SubjectRequest.objects.count() == 1


def test_references_are_each_clients_own(client, app, subject):
    _web, web_secret = make_api_client(name="website", scopes=[Scope.REQUESTS_WRITE])
    body = {"kind": "access", "account_id": subject.account_id, "client_reference": "1"}
    assert post(client, app[1], body).status_code == 201
    assert post(client, web_secret, body).status_code == 201
    assert SubjectRequest.objects.count() == 2


def test_requests_without_a_reference_are_each_received(client, app, subject):
    post(client, app[1], {"kind": "access", "account_id": subject.account_id})
    post(client, app[1], {"kind": "access", "account_id": subject.account_id})
    assert SubjectRequest.objects.count() == ReceivedRequest.objects.count() == 2


def test_the_state_the_app_shows_never_carries_the_agents_notes_or_names(client, app, subject, support_agent):
    _client, secret = app
    pk = post(client, secret, {"kind": "access", "account_id": subject.account_id}).json()["id"]
    made = SubjectRequest.objects.get(pk=pk)
    made.internal_notes, made.response_text = "Caller sounded unsure; NOTE-SECRET", "Draft DRAFT-SECRET"
    record_save(instance=made, actor=support_agent, event=AuditEvent.EDITED, reason="Notes")
    request_assign(request=made, assignee=support_agent, actor=support_agent)

    response = get(client, secret, pk)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "kind", "status", "language", "received_at", "due_at", "due_date", "closed_at",
                         "overdue", "paused", "identity_verified", "duplicate_of"}
    text = response.content.decode()
    for secret_text in ("NOTE-SECRET", "DRAFT-SECRET", support_agent.username, "api:mobile-app"):
        assert secret_text not in text
    assert response["ETag"].startswith('"rights_requests.subjectrequest:')


def test_the_state_shows_a_paused_or_overdue_request(client, app, subject, support_agent):
    pk = post(client, app[1], {"kind": "access", "account_id": subject.account_id}).json()["id"]
    made = SubjectRequest.objects.get(pk=pk)
    made.due_at = timezone.now() - timedelta(days=1)
    record_save(instance=made, actor=support_agent, event=AuditEvent.EDITED, reason="Test: the deadline passed")
    assert get(client, app[1], pk).json()["overdue"] is True
    request_pause(request=made, reason="Legal hold", actor=support_agent)
    body = get(client, app[1], pk).json()
    assert body["paused"] is True and body["overdue"] is False


def test_each_read_of_a_request_is_in_the_access_log_naming_the_client(client, app, subject):
    pk = post(client, app[1], {"kind": "access", "account_id": subject.account_id}).json()["id"]
    assert not AccessEvent.objects.exists()  # the answer to a write is not a read
    get(client, app[1], pk, HTTP_USER_AGENT="ShipEx backend/2.1")
    event = AccessEvent.objects.get()
    assert (event.username, event.user_id, event.action, event.object_type, event.object_id, event.subject_id) == (
        "api:mobile-app", None, AccessEvent.Action.SUBJECT_VIEW, "rights_requests.subjectrequest", str(pk),
        subject.pk)
    assert (event.ip, event.user_agent) == ("127.0.0.1", "ShipEx backend/2.1")


def test_a_client_reads_only_requests_that_came_from_its_own_system(client, app, subject, support_agent):
    api_client, secret = app
    pk = post(client, secret, {"kind": "access", "account_id": subject.account_id}).json()["id"]
    _other, other_secret = make_api_client(name="courier-app", scopes=[Scope.REQUESTS_READ])
    _sibling, sibling_secret = make_api_client(name="mobile-app-v2", scopes=[Scope.REQUESTS_READ],
                                               system=api_client.system)
    typed_by_agent = request_receive(kind="access", channel="phone", actor=support_agent, subject=subject)

    assert get(client, other_secret, pk).status_code == 404
    assert get(client, sibling_secret, pk).status_code == 200  # a replacement client of the same system
    missing = get(client, secret, typed_by_agent.pk)
    assert missing.status_code == 404 and missing["Content-Type"] == PROBLEM
    assert get(client, secret, 2**63).status_code == 404
    assert get(client, secret, 10**30).status_code == 404
    assert AccessEvent.objects.count() == 1  # only the read that found something


def test_reading_a_request_takes_a_bounded_number_of_queries(client, app, subject, django_assert_max_num_queries):
    pk = post(client, app[1], {"kind": "access", "account_id": subject.account_id}).json()["id"]
    get(client, app[1], pk)  # the token's last use is recorded now, not in the measured call
    # token (1), its last use (2), the request (1), the access log with its digest (6), the version (1)
    with django_assert_max_num_queries(12):
        assert get(client, app[1], pk).status_code == 200


def test_methods_the_endpoints_do_not_serve_are_405(client, app):
    assert client.get(URL, **bearer(app[1])).status_code == 405
    assert client.delete(f"{URL}/1", **bearer(app[1])).status_code == 405


def test_retries_sent_at_the_same_moment_make_one_request(catalogue):
    """Real concurrent transactions need PostgreSQL and threads, each with its own connection: the
    reference's unique constraint lets one call create the request and turns the others into replays."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time: this race cannot happen there")
    subject = DataSubjectFactory()
    _client, secret = make_api_client(scopes=[Scope.REQUESTS_WRITE])
    body = json.dumps({"kind": "access", "account_id": subject.account_id})
    at_once, barrier = 4, threading.Barrier(4)
    answers: list = [None] * at_once

    def call(i):
        try:
            barrier.wait()
            answers[i] = Client().post(URL, data=body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="same",
                                       **bearer(secret))
        except Exception as exc:  # the assertion below shows it
            answers[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(at_once)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(answer.status_code for answer in answers) == [200, 200, 200, 201], answers
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert SubjectRequest.objects.count() == 1 and ReceivedRequest.objects.count() == 1
