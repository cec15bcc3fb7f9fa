"""POST /api/v1/events: each event applied in full, acknowledged as a duplicate, or refused with its code."""

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shipex_privacy.audit import tamper
from shipex_privacy.audit.models import TrailEntry
from shipex_privacy.catalogue.models import Purpose
from shipex_privacy.consents.integrity import consent_state_matches_ledger
from shipex_privacy.consents.models import Consent, ConsentEvent, CookieConsentEvent, PolicyAcceptance
from shipex_privacy.consents.services import Evidence, consent_grant
from shipex_privacy.integrations.events import COMMON_FIELDS, FIELDS
from shipex_privacy.integrations.models import ReceivedEvent
from shipex_privacy.subjects.models import DataSubject
from tests.consents.factories import PolicyVersionFactory
from tests.integrations.factories import bearer, make_api_client
from tests.subjects.factories import DataSubjectFactory

URL = "/api/v1/events"
NOW = timezone.now()


def ago(**delta) -> str:
    return (NOW - timedelta(**delta)).isoformat()


@pytest.fixture
def api(db):
    client, secret = make_api_client(name="mobile-app", scopes=["events:write"])
    return client, secret


@pytest.fixture
def policy(db):
    return PolicyVersionFactory(published=True, version="2026.1")


@pytest.fixture
def subject(db):
    return DataSubjectFactory(account_id="SX1002345")


def post(test_client, secret, events, content_type="application/json"):
    body = events if isinstance(events, str | bytes) else json.dumps(events)
    # Answers in English, the source language the assertions read (the API's default is Uzbek).
    return test_client.post(URL, data=body, content_type=content_type, HTTP_ACCEPT_LANGUAGE="en", **bearer(secret))


def grant_event(event_id="e-1", account_id="SX1002345", at=None, **values):
    return {"event_id": event_id, "type": "consent.granted", "occurred_at": at or ago(hours=1),
            "account_id": account_id, "purpose": "1.3.2.5", "channel": "app", "policy_version": "2026.1",
            "evidence": {"ip_address": "213.230.10.20", "user_agent": "ShipEx/5.2 (Android 14)"}, **values}


def withdraw_event(event_id="e-2", account_id="SX1002345", at=None, **values):
    return {"event_id": event_id, "type": "consent.withdrawn", "occurred_at": at or ago(minutes=30),
            "account_id": account_id, "purpose": "1.3.2.5", "channel": "app", **values}


def outcome(response, index=0):
    assert response.status_code == 200, response.content
    return response.json()["results"][index]


# --- every type applied, with history naming the client ----------------------------------------------


def test_every_type_is_applied_and_history_names_the_client_with_the_event(client, api, policy, subject):
    _api_client, secret = api
    events = [
        {"event_id": "p-1", "type": "policy.accepted", "occurred_at": ago(hours=3), "account_id": "sx 100 2345",
         "version": "2026.1", "channel": "app", "evidence": {"ip_address": "213.230.10.20"}},
        grant_event("g-1", at=ago(hours=2), covered_data=["contact.email"]),
        withdraw_event("w-1", at=ago(hours=1)),
        {"event_id": "c-1", "type": "cookie.choice", "occurred_at": ago(minutes=50), "account_id": "SX1002345",
         "category": "analytics", "choice": "granted", "channel": "web"},
        {"event_id": "c-2", "type": "cookie.choice", "occurred_at": ago(minutes=40), "visitor_id": "v-42",
         "category": "advertising", "choice": "refused", "channel": "web"},
        grant_event("g-2", at=ago(minutes=20)),
        {"event_id": "l-1", "type": "subject.logged_out", "occurred_at": ago(minutes=10), "account_id": "SX1002345"},
    ]
    response = post(client, secret, events)
    body = response.json()
    assert response.status_code == 200, body
    assert [(r["event_id"], r["status"], r["code"]) for r in body["results"]] == [
        (event["event_id"], "applied", None) for event in events]
    assert (body["applied"], body["duplicate"], body["refused"]) == (7, 0, 0)
    assert body["results"][6]["detail"] == "Processing stopped; 1 consents withdrawn."

    acceptance = PolicyAcceptance.objects.get(subject=subject)
    assert (acceptance.channel, acceptance.ip_address) == ("app", "213.230.10.20")
    consent = Consent.objects.get(subject=subject)
    assert [(e.kind, e.recorded_by_username, e.evidence_reference) for e in consent.events.order_by("occurred_at")] \
        == [("grant", "api:mobile-app", "app event g-1"), ("withdraw", "api:mobile-app", "app event w-1"),
            ("grant", "api:mobile-app", "app event g-2"), ("withdraw", "api:mobile-app", "app event l-1")]
    assert consent.state == "withdrawn"
    assert consent.events.get(evidence_reference="app event g-1").covered_data == ["contact.email"]
    assert CookieConsentEvent.objects.filter(subject=subject, kind="grant", category="analytics").exists()
    assert CookieConsentEvent.objects.filter(visitor_id="v-42", kind="withdraw").exists()
    subject.refresh_from_db()
    assert subject.status == DataSubject.Status.LOGGED_OUT

    history = list(consent.history.order_by("history_id"))
    assert [(row.state, row.history_username, row.history_ip) for row in history] == [
        ("granted", "api:mobile-app", "127.0.0.1"), ("withdrawn", "api:mobile-app", "127.0.0.1"),
        ("granted", "api:mobile-app", "127.0.0.1"), ("withdrawn", "api:mobile-app", "127.0.0.1")]
    assert history[0].history_change_reason == "1.3.2.5 consent granted in mobile-app (event g-1)"
    trail = TrailEntry.objects.filter(username="api:mobile-app", subject_id=subject.pk)
    assert set(trail.values_list("event", flat=True)) == {
        "policy.accepted", "consent.granted", "consent.withdrawn", "api.logged_out"}
    assert trail.get(event="api.logged_out").reason == "1.5.2 logged out in mobile-app (event l-1): processing stopped"
    assert consent_state_matches_ledger("default") == []


def test_an_events_own_reason_goes_into_history(client, api, policy, subject):
    post(client, api[1], [grant_event(reason="Onboarding screen 3")])
    assert Consent.objects.get(subject=subject).history.get().history_change_reason == "Onboarding screen 3"


def test_ndjson_is_one_event_per_line_and_a_line_that_is_not_json_is_refused_alone(client, api, policy, subject):
    body = "\n".join([json.dumps(grant_event("g-1")), "{not json", "", json.dumps(withdraw_event("w-1"))]) + "\n"
    response = post(client, api[1], body, content_type="application/x-ndjson")
    results = response.json()["results"]
    assert [(r["status"], r["code"]) for r in results] == [("applied", None), ("refused", "not_json"),
                                                          ("applied", None)]
    assert results[1]["detail"].startswith("Line 2 is not JSON")
    assert Consent.objects.get(subject=subject).state == "withdrawn"


# --- idempotency ------------------------------------------------------------------------------------------


def test_a_batch_sent_again_is_acknowledged_and_applied_once(client, api, policy, subject):
    events = [grant_event("g-1"), withdraw_event("w-1")]
    post(client, api[1], events)
    response = post(client, api[1], events)
    assert [r["status"] for r in response.json()["results"]] == ["duplicate", "duplicate"]
    assert response.json()["duplicate"] == 2
    assert ConsentEvent.objects.filter(consent__subject=subject).count() == 2
    assert Consent.objects.get(subject=subject).history.count() == 2


def test_an_event_id_twice_in_one_batch_is_applied_once(client, api, policy, subject):
    response = post(client, api[1], [grant_event("g-1"), grant_event("g-1", at=ago(minutes=5))])
    assert [r["status"] for r in response.json()["results"]] == ["applied", "duplicate"]
    assert ConsentEvent.objects.filter(consent__subject=subject).count() == 1


def test_event_ids_are_per_client(client, api, policy, subject):
    _other, other_secret = make_api_client(name="website", scopes=["events:write"])
    post(client, api[1], [grant_event("same-id")])
    response = post(client, other_secret, [withdraw_event("same-id")])
    assert outcome(response)["status"] == "applied"


def test_a_refused_event_is_not_kept_and_may_be_sent_again_corrected(client, api, policy, subject):
    assert outcome(post(client, api[1], [grant_event("g-1", purpose="9.9.9")]))["code"] == "unknown_purpose"
    assert not ReceivedEvent.objects.exists()
    assert outcome(post(client, api[1], [grant_event("g-1")]))["status"] == "applied"
    assert ReceivedEvent.objects.get().event_id == "g-1"


# --- refusals: one bad event among good ones ---------------------------------------------------------------


REFUSALS = [
    ("not_an_object", ["grant"], None),
    ("required", {"event_id": None}, "event_id"),
    ("required", {"policy_version": None}, "policy_version"),
    ("unknown_field", {"colour": "blue"}, "colour"),
    ("unknown_field", {"evidence": {"mood": "happy"}}, "evidence.mood"),
    ("invalid", {"event_id": "has space"}, "event_id"),
    ("invalid", {"event_id": 17}, "event_id"),
    ("invalid", {"channel": "pigeon"}, "channel"),
    ("invalid", {"account_id": "SX12"}, "account_id"),
    ("invalid", {"evidence": {"ip_address": "999.1.1.1"}}, "evidence.ip_address"),
    ("invalid", {"evidence": {"user_agent": "x" * 401}}, "evidence.user_agent"),
    ("invalid", {"evidence": {"user_agent": "a\x00b"}}, "evidence.user_agent"),
    ("invalid", {"evidence": {"user_agent": "\ud800"}}, "evidence.user_agent"),
    ("invalid", {"allows_publication": "yes"}, "allows_publication"),
    ("invalid", {"covered_data": "contact.email"}, "covered_data"),
    ("invalid_date", {"occurred_at": "2026-11-25 14:30"}, "occurred_at"),
    ("invalid_date", {"occurred_at": "2026-11-25T14:30:00"}, "occurred_at"),  # no offset
    ("invalid_date", {"occurred_at": "2026-02-30T14:30:00+05:00"}, "occurred_at"),
    ("invalid_date", {"occurred_at": "２０２６-11-25T14:30:00+05:00"}, "occurred_at"),
    ("invalid_date", {"occurred_at": 1764000000}, "occurred_at"),
    ("implausible_date", {"occurred_at": "1999-12-31T23:59:00+05:00"}, "occurred_at"),
    ("implausible_date", {"expires_at": "2100-01-01T06:00:00+05:00"}, "expires_at"),
    ("in_future", {"occurred_at": (NOW + timedelta(hours=1)).isoformat()}, "occurred_at"),
    ("unknown_type", {"type": "consent.maybe"}, "type"),
    ("unknown_subject", {"account_id": "SX9999999"}, "account_id"),
    ("unknown_purpose", {"purpose": "1.3.2.99"}, "purpose"),
    ("unknown_policy_version", {"policy_version": "1999.1"}, "policy_version"),
    ("not_consent_based", {"purpose": "1.3.2.2"}, "purpose"),
    ("unknown_catalogue_code", {"covered_data": ["contact.pager"]}, "covered_data"),
    ("term_before_grant", {"expires_at": ago(days=2)}, "expires_at"),
    ("term_before_grant", {"term_ends_on": (NOW - timedelta(days=3)).date().isoformat()}, "term_ends_on"),
    ("invalid", {"term_ends_on": "2027-01-31", "expires_at": "2027-01-31T18:00:00+05:00"}, "term_ends_on"),
    ("invalid_date", {"term_ends_on": "31.01.2027"}, "term_ends_on"),
    ("invalid_date", {"term_ends_on": "2027-02-30"}, "term_ends_on"),
    ("invalid_date", {"term_ends_on": "2027-01-31T00:00:00+05:00"}, "term_ends_on"),
    ("implausible_date", {"term_ends_on": "2099-12-31"}, "term_ends_on"),
    # Consent to biometric data by phone: it must be written or electronic.
    ("channel_not_written", {"channel": "call_centre", "covered_data": ["document.face_photo"]}, "channel"),
]


@pytest.mark.parametrize(("code", "change", "field"), REFUSALS)
def test_a_bad_event_is_refused_with_its_code_and_the_good_ones_are_applied(
        client, api, policy, subject, code, change, field):
    other = DataSubjectFactory(account_id="SX1002346")
    bad = change if isinstance(change, list) else {key: value for key, value in {**grant_event("bad"), **change}.items()
                                                   if value is not None}
    response = post(client, api[1], [grant_event("good-1", account_id="SX1002346"), bad,
                                     {**withdraw_event("good-2", account_id="SX1002346")}])
    results = response.json()["results"]
    assert (results[1]["status"], results[1]["code"], results[1]["field"]) == ("refused", code, field), results[1]
    assert results[1]["detail"]
    assert [results[0]["status"], results[2]["status"]] == ["applied", "applied"]
    assert Consent.objects.get(subject=other).events.count() == 2
    assert not Consent.objects.filter(subject=subject).exists()
    assert response.json()["refused"] == 1


def test_grant_while_in_force_and_withdrawal_while_not_are_refused_as_no_change(client, api, policy, subject):
    results = post(client, api[1], [withdraw_event("w-0", at=ago(hours=3)), grant_event("g-1", at=ago(hours=2)),
                                    grant_event("g-2", at=ago(hours=1))]).json()["results"]
    assert [(r["status"], r["code"]) for r in results] == [
        ("refused", "no_change"), ("applied", None), ("refused", "no_change")]


def test_policy_acceptance_refusals(client, api, policy, subject):
    future = PolicyVersionFactory(published=True, version="2027.1", effective_date=timezone.localdate() + timedelta(5))
    accept = {"type": "policy.accepted", "occurred_at": ago(hours=1), "account_id": "SX1002345", "channel": "app"}
    results = post(client, api[1], [{**accept, "event_id": "a-1", "version": "2026.1"},
                                    {**accept, "event_id": "a-2", "version": "2026.1"},
                                    {**accept, "event_id": "a-3", "version": future.version}]).json()["results"]
    assert [(r["status"], r["code"], r["field"]) for r in results] == [
        ("applied", None, None), ("refused", "already_accepted", "version"),
        ("refused", "policy_not_in_force", "version")]


def test_an_erased_subject_refuses_events(client, api, policy, subject):
    # The erasure's effect, in short.
    DataSubject.objects.filter(pk=subject.pk).update(status=DataSubject.Status.ANONYMISED)
    result = outcome(post(client, api[1], [grant_event()]))
    assert (result["status"], result["code"]) == ("refused", "erased")


def test_cookie_choice_refusals(client, api, subject):
    choice = {"type": "cookie.choice", "occurred_at": ago(hours=1), "channel": "web", "choice": "granted"}
    results = post(client, api[1], [
        {**choice, "event_id": "c-1", "category": "strictly_necessary", "visitor_id": "v"},
        {**choice, "event_id": "c-2", "category": "analytics"},
        {**choice, "event_id": "c-3", "category": "analytics", "visitor_id": "v", "choice": "maybe"},
    ]).json()["results"]
    assert [(r["code"], r["field"]) for r in results] == [
        ("strictly_necessary", "category"), ("required", "account_id"), ("invalid", "choice")]


def test_a_moment_a_little_ahead_of_our_clock_is_taken_as_now(client, api, policy, subject):
    ahead = (timezone.now() + timedelta(seconds=30)).isoformat()
    assert outcome(post(client, api[1], [grant_event(at=ahead)]))["status"] == "applied"
    event = ConsentEvent.objects.get()
    assert event.occurred_at <= timezone.now()
    assert ReceivedEvent.objects.get().occurred_at.isoformat() == ahead.replace("+00:00", "+00:00")


# --- the body ---------------------------------------------------------------------------------------------


def test_more_than_a_thousand_events_is_413_and_nothing_is_applied(client, api, policy, subject):
    events = [grant_event(f"g-{i}") for i in range(1001)]
    for body, content_type in ((json.dumps(events), "application/json"),
                               ("\n".join(json.dumps(e) for e in events), "application/x-ndjson")):
        response = post(client, api[1], body, content_type=content_type)
        assert response.status_code == 413, response.content
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "too_many_events"
    assert not ConsentEvent.objects.exists() and not ReceivedEvent.objects.exists()


def test_a_body_over_the_size_limit_is_413(client, api):
    response = post(client, api[1], "[" + " " * (4 * 1024 * 1024) + "]")
    assert response.status_code == 413 and response.json()["code"] == "too_large"


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "multipart/form-data; boundary=x"])
def test_another_content_type_is_415(client, api, content_type):
    response = post(client, api[1], "[]", content_type=content_type)
    assert response.status_code == 415, response.content
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("body", ['{"event_id": "e"}', "not json", "", "NaN", "[" * 100_000, '"\\ud800"'])
def test_a_body_that_is_no_batch_is_400(client, api, body):
    response = post(client, api[1], body)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"


def test_an_empty_batch_is_answered_with_nothing_applied(client, api):
    assert post(client, api[1], []).json() == {"results": [], "applied": 0, "duplicate": 0, "refused": 0}


def test_the_scope_events_write_is_needed(client, db):
    _client, secret = make_api_client(scopes=["subjects:write"])
    assert post(client, secret, []).status_code == 403
    assert client.post(URL, data="[]", content_type="application/json").status_code == 401


# --- late events ------------------------------------------------------------------------------------------


def test_a_late_older_event_lands_in_its_place_without_changing_the_newer_state(client, api, policy, subject):
    post(client, api[1], [grant_event("g-1", at=ago(days=3)), grant_event("g-2", at=ago(days=1)),
                          withdraw_event("w-1", at=ago(days=2))])  # in one batch, out of order
    consent = Consent.objects.get(subject=subject)
    assert consent.state == "granted" and consent.granted_at == NOW - timedelta(days=1)
    history = consent.history.count()
    # The app was offline: a withdrawal from 36 hours ago arrives after the newer grant.
    # At 36 hours ago the consent was withdrawn already: nothing to withdraw then.
    assert outcome(post(client, api[1], [withdraw_event("w-late", at=ago(hours=36))]))["code"] == "no_change"
    # At 60 hours ago it was in force: the withdrawal lands there (the refused id may be sent again).
    assert outcome(post(client, api[1], [withdraw_event("w-late", at=ago(hours=60))]))["status"] == "applied"
    assert outcome(post(client, api[1], [grant_event("g-late", at=ago(hours=40))]))["status"] == "applied"
    consent.refresh_from_db()
    assert [e.evidence_reference for e in consent.events.order_by("occurred_at", "id")] == [
        "app event g-1", "app event w-late", "app event w-1", "app event g-late", "app event g-2"]
    assert consent.state == "granted" and consent.granted_at == NOW - timedelta(days=1)
    assert consent.history.count() == history  # the current state did not change
    assert Consent.objects.in_force_at(NOW - timedelta(hours=39)).filter(pk=consent.pk).exists()
    assert consent_state_matches_ledger("default") == []
    assert tamper.verify().findings == []  # verify_audit: digests, history against rows, consents against ledger


def test_a_late_log_out_withdraws_what_was_in_force_then_and_keeps_a_newer_grant(client, api, policy, subject):
    post(client, api[1], [grant_event("g-1", at=ago(days=3)), withdraw_event("w-1", at=ago(days=2)),
                          grant_event("g-2", at=ago(days=1))])
    logout = {"event_id": "l-1", "type": "subject.logged_out", "occurred_at": ago(days=2, hours=12),
              "account_id": "SX1002345"}
    assert outcome(post(client, api[1], [logout]))["detail"] == "Processing stopped; 1 consents withdrawn."
    consent = Consent.objects.get(subject=subject)
    assert consent.is_in_force()
    assert [e.kind for e in consent.events.order_by("occurred_at", "id")] == ["grant", "withdraw", "withdraw", "grant"]
    assert consent_state_matches_ledger("default") == []


def test_a_grant_and_withdrawal_of_one_consent_in_a_batch_leave_two_history_rows(client, api, policy, subject):
    post(client, api[1], [grant_event("g-1", at=ago(hours=2)), withdraw_event("w-1", at=ago(hours=1))])
    consent = Consent.objects.get(subject=subject)
    assert list(consent.history.order_by("history_id").values_list("state", "history_type")) == [
        ("granted", "+"), ("withdrawn", "~")]


def test_the_batch_and_a_grant_recorded_one_at_a_time_agree(client, api, policy, subject):
    consent_grant(subject=subject, purpose=Purpose.objects.get(clause="1.3.2.5"), occurred_at=NOW - timedelta(days=5),
                  evidence=Evidence(channel="office"), policy_version=policy, actor=None)
    assert outcome(post(client, api[1], [grant_event("g-1", at=ago(days=1))]))["code"] == "no_change"
    assert outcome(post(client, api[1], [withdraw_event("w-1", at=ago(days=1))]))["status"] == "applied"


# --- queries ----------------------------------------------------------------------------------------------


def test_the_query_count_of_a_batch_does_not_grow_with_its_size(client, api, policy):
    def batch_queries(count: int, start: int) -> int:
        subjects = [DataSubjectFactory(account_id=f"SX{3_000_000 + start + i}") for i in range(count)]
        events = [grant_event(f"g-{start + i}", account_id=s.account_id, at=ago(hours=2)) for i, s in
                  enumerate(subjects)]
        events += [withdraw_event(f"w-{start + i}", account_id=s.account_id, at=ago(hours=1)) for i, s in
                   enumerate(subjects)]
        events += [{"event_id": f"c-{start + i}", "type": "cookie.choice", "occurred_at": ago(hours=1),
                    "account_id": s.account_id, "category": "analytics", "choice": "granted", "channel": "app"}
                   for i, s in enumerate(subjects)]
        with CaptureQueriesContext(connection) as queries:
            response = post(client, api[1], events)
        assert response.json()["applied"] == 3 * count
        return len(queries)

    batch_queries(1, 0)  # the first call records the token's use and finds the audit tables' ids
    # Sizes under SQLite's bulk INSERT limit (999 parameters a statement): beyond it every bulk write is
    # split into statements of some 50 rows, on SQLite only.
    assert batch_queries(3, 100) == batch_queries(15, 200)


# --- the term and the transfers of a consent --------------------------------------------------------------


def test_a_grant_carries_its_term_and_transfers_and_lapses_on_the_day_after(client, api, policy, subject):
    from shipex_privacy.consents.models import term_end
    from shipex_privacy.consents.services import consents_lapse_due

    last_day = timezone.localdate() - timedelta(days=2)  # sent late: the term is over already
    response = post(client, api[1], [grant_event(
        "g-term", at=ago(days=10), term_ends_on=last_day.isoformat(), allows_third_party_transfer=True,
        allows_cross_border_transfer=True)])
    assert outcome(response)["status"] == "applied"
    event = ConsentEvent.objects.get()
    assert event.expires_at == term_end(last_day) and event.term_last_day == last_day
    assert (event.allows_third_party_transfer, event.allows_cross_border_transfer) == (True, True)
    assert (event.operator_name, event.operator_tin) == ("ShipEx LLC", "301234567")
    assert consents_lapse_due(now=term_end(last_day) - timedelta(microseconds=1)) == 0
    assert consents_lapse_due(now=term_end(last_day)) == 1
    assert Consent.objects.get().state == Consent.State.LAPSED


def test_a_grant_without_a_term_is_until_withdrawn_and_allows_no_transfer(client, api, policy, subject):
    assert outcome(post(client, api[1], [grant_event("g-plain")]))["status"] == "applied"
    event = ConsentEvent.objects.get()
    assert event.expires_at is None
    assert (event.allows_third_party_transfer, event.allows_cross_border_transfer) == (False, False)


def test_a_biometric_consent_through_the_app_is_applied(client, api, policy, subject):
    response = post(client, api[1], [grant_event("g-face", covered_data=["document.face_photo"])])
    assert outcome(response)["status"] == "applied"
    assert ConsentEvent.objects.get().covered_data == ["document.face_photo"]


# --- the schema describes what the endpoint reads ----------------------------------------------------------


def test_the_schema_names_the_fields_each_type_reads():
    from shipex_privacy.api.event_serializers import EVENT_SERIALIZERS

    assert set(EVENT_SERIALIZERS) == set(FIELDS)
    for kind, serializer in EVENT_SERIALIZERS.items():
        required, optional = FIELDS[kind]
        assert set(serializer().fields) == {*COMMON_FIELDS, *required, *optional}, kind


def test_the_schema_is_served(client, db):
    # In English, the language of the apps' developers (the schema follows the request's language).
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    schema = json.loads(response.content)
    operation = schema["paths"]["/api/v1/events"]["post"]
    assert set(operation["responses"]) >= {"200", "400", "401", "403", "413", "415", "429"}
    # The term and the transfer flags of a consent, each described for the app's developers.
    granted = schema["components"]["schemas"]["ConsentGranted"]["properties"]
    assert granted["term_ends_on"]["format"] == "date" and "lapses" in granted["term_ends_on"]["description"]
    assert granted["expires_at"]["format"] == "date-time" and granted["expires_at"]["description"]
    for flag in ("allows_third_party_transfer", "allows_cross_border_transfer"):
        assert granted[flag]["type"] == "boolean" and granted[flag]["description"]
    assert "channel_not_written" in granted["channel"]["description"]


# --- concurrent retries of one batch (PostgreSQL) -----------------------------------------------------------


AT_ONCE = 4


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_of_one_batch_apply_each_event_once(catalogue):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time: this race cannot happen there")
    _client, secret = make_api_client(name="mobile-app", scopes=["events:write"])
    PolicyVersionFactory(published=True, version="2026.1")
    subjects = [DataSubjectFactory(account_id=f"SX{2_000_000 + i}") for i in range(20)]
    for round_ in range(3):
        events = [grant_event(f"r{round_}g-{i}", account_id=s.account_id, at=ago(hours=10 - 3 * round_))
                  for i, s in enumerate(subjects)]
        events += [withdraw_event(f"r{round_}w-{i}", account_id=s.account_id, at=ago(hours=9 - 3 * round_))
                   for i, s in enumerate(subjects)]
        batch = json.dumps(events)
        barrier, answers = threading.Barrier(AT_ONCE), [None] * AT_ONCE

        def send(i, batch=batch, barrier=barrier, answers=answers):
            try:
                barrier.wait()
                answers[i] = post(Client(), secret, batch)
            except Exception as exc:
                answers[i] = exc
            finally:
                connections.close_all()

        threads = [threading.Thread(target=send, args=(i,)) for i in range(AT_ONCE)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert all(getattr(answer, "status_code", None) == 200 for answer in answers), answers
        bodies = [answer.json() for answer in answers]
        # Every event applied by exactly one of the retries; the others see it as a duplicate.
        for index in range(len(events)):
            statuses = sorted(b["results"][index]["status"] for b in bodies)
            assert statuses == ["applied", *["duplicate"] * (AT_ONCE - 1)], statuses
    for s in subjects:
        consent = Consent.objects.get(subject=s)
        assert consent.events.count() == 6 and consent.history.count() == 6
        assert consent.state == "withdrawn"
    assert consent_state_matches_ledger("default") == []


@pytest.mark.django_db(transaction=True)
def test_batches_of_two_clients_over_the_same_subjects_at_once_both_apply(catalogue):
    # Each batch locks its subjects in id order: sent in opposite orders they wait, never deadlock.
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time: this race cannot happen there")
    secrets = [make_api_client(name=name, scopes=["events:write"])[1] for name in ("mobile-app", "website")]
    PolicyVersionFactory(published=True, version="2026.1")
    subjects = [DataSubjectFactory(account_id=f"SX{2_100_000 + i}") for i in range(30)]
    batches = [
        [grant_event(f"g-{i}", account_id=s.account_id, at=ago(hours=2)) for i, s in enumerate(subjects)],
        [{"event_id": f"c-{i}", "type": "cookie.choice", "occurred_at": ago(hours=1), "account_id": s.account_id,
          "category": "analytics", "choice": "granted", "channel": "web"} for i, s in enumerate(reversed(subjects))],
    ]
    barrier, answers = threading.Barrier(2), [None, None]

    def send(i):
        try:
            barrier.wait()
            answers[i] = post(Client(), secrets[i], batches[i])
        except Exception as exc:
            answers[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert [answer.json()["applied"] for answer in answers] == [30, 30], answers
