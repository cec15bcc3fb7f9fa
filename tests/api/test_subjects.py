"""PUT/PATCH /api/v1/subjects/{account_id} and GET …/consents, as ShipEx's systems call them."""

import json
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipex_privacy.audit.events import AuditEvent
from shipex_privacy.audit.models import AccessEvent, TrailEntry
from shipex_privacy.catalogue.models import Purpose
from shipex_privacy.consents.in_force import subject_consents_now
from shipex_privacy.consents.models import PolicyVersion
from shipex_privacy.consents.services import (
    Evidence,
    consent_grant,
    consent_withdraw,
    cookie_consent_record,
    policy_accept,
)
from shipex_privacy.subjects.intake import subject_version
from shipex_privacy.subjects.models import Address, DataSubject
from tests.catalogue.factories import SystemFactory
from tests.consents.factories import PolicyVersionFactory
from tests.integrations.factories import bearer, make_api_client
from tests.retention.factories import ClosedSubjectFactory
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/subjects/{}"
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=10,
)
JSON_OBJECTS = st.dictionaries(
    st.sampled_from(["full_name", "phone", "email", "pinfl", "birth_date", "addresses", "status", "registered_at"]),
    JSON, max_size=6) | JSON
PINFL = "30101900000011"
APP = Evidence(channel="app", ip_address="213.230.10.20", user_agent="ShipEx/5.2 (Android 14)")


def body(**changes) -> dict:
    data = {
        "full_name": "Aziza Karimova",
        "phone": "90 123 45 67",
        "email": "Aziza@Mail.UZ",
        "pinfl": PINFL,
        "birth_date": "1990-01-01",
        "preferred_language": "uz",
        "addresses": [{"kind": "home", "region": "Toshkent shahri", "city": "Yunusobod tumani",
                       "street": "Amir Temur koʻchasi 12", "landmark": "Metro", "postal_code": "100084"}],
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not ...}


@pytest.fixture
def api(client):
    """Calls as a client of the mobile app's system with every scope."""
    system = SystemFactory(code="mobile-app", name="ShipEx mobile app")
    _client, secret = make_api_client(name="mobile-app", system=system)

    class Api:
        def send(self, method, account_id="SX1002345", data=None, *, raw=None, content_type="application/json",
                 token=secret, **headers):
            payload = raw if raw is not None else json.dumps(body() if data is None else data)
            headers.setdefault("HTTP_ACCEPT_LANGUAGE", "en")  # the source language the assertions read
            return getattr(client, method)(URL.format(account_id), data=payload, content_type=content_type,
                                           **bearer(token), **headers)

        def put(self, *args, **kwargs):
            return self.send("put", *args, **kwargs)

        def patch(self, *args, **kwargs):
            return self.send("patch", *args, **kwargs)

        def consents(self, account_id="SX1002345", token=secret):
            return client.get(URL.format(account_id) + "/consents", HTTP_ACCEPT_LANGUAGE="en", **bearer(token))

    return Api()


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    data = response.json()
    assert data["code"] == code and data["status"] == status, data
    return data


def test_put_creates_a_subject_normalised_with_history_naming_the_client(api):
    response = api.put("sx 1002 345")
    assert response.status_code == 201, response.content
    data = response.json()
    subject = DataSubject.objects.get(account_id="SX1002345")
    assert response["ETag"] == f'"{subject_version(subject)}"' == f'"{data["version"]}"'
    assert (data["account_id"], data["phone"], data["email"], data["status"]) == (
        "SX1002345", "+998901234567", "aziza@mail.uz", "active")
    assert data["addresses"] == [body()["addresses"][0]]
    row = subject.history.get()
    assert (row.history_username, row.history_user_id, row.history_ip, row.history_change_reason) == (
        "api:mobile-app", None, "127.0.0.1", "1.5.1: profile updated in ShipEx mobile app")
    entries = TrailEntry.objects.filter(subject_id=subject.pk)
    assert {(entry.model, entry.event, entry.username) for entry in entries} == {
        ("subjects.datasubject", AuditEvent.SUBJECT_RECEIVED, "api:mobile-app"),
        ("subjects.address", AuditEvent.SUBJECT_RECEIVED, "api:mobile-app")}


def test_the_same_put_twice_is_200_with_the_same_etag_and_no_new_history(api):
    first = api.put()
    history = DataSubject.history.count() + Address.history.count()
    second = api.put()
    assert second.status_code == 200
    assert second["ETag"] == first["ETag"]
    assert second.json() == first.json()
    assert DataSubject.history.count() + Address.history.count() == history


def test_the_reason_header_is_kept_in_history(api):
    api.put(HTTP_X_REASON="Signed up in the app, build 5.2")
    assert DataSubject.history.get().history_change_reason == "Signed up in the app, build 5.2"


def test_put_changes_and_the_etag_moves(api):
    first = api.put()
    second = api.put(data=body(full_name="Aziza Rahimova", addresses=[]))
    assert second.status_code == 200
    assert second["ETag"] != first["ETag"]
    subject = DataSubject.objects.get()
    assert subject.full_name == "Aziza Rahimova" and not subject.addresses.exists()
    assert second.json()["addresses"] == []


def test_patch_changes_only_what_it_sends(api):
    api.put()
    response = api.patch(data={"email": "new@inbox.uz"})
    assert response.status_code == 200, response.content
    subject = DataSubject.objects.get()
    assert subject.email == "new@inbox.uz" and subject.full_name == "Aziza Karimova"
    assert subject.addresses.count() == 1
    assert response["ETag"] == f'"{subject_version(subject)}"'


def test_patch_of_an_unknown_subject_is_404(api):
    problem(api.patch(data={"email": "new@inbox.uz"}), 404, "not_found")
    assert not DataSubject.objects.exists()


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize("account_id", ["SX12", "12345678", "SX1002345%C2%B2", "ERASED-x"])
def test_a_malformed_account_id_is_400_naming_it(api, method, account_id):
    data = problem(api.send(method, account_id), 400, "validation")
    assert data["errors"][0]["field"] == "account_id"
    assert data["errors"][0]["code"] == "invalid_account_id"


def test_an_unknown_field_is_refused_by_name_and_nothing_is_written(api):
    data = problem(api.put(data=body(nickname="Azi", status="closed")), 400, "validation")
    assert {(error["field"], error["code"]) for error in data["errors"]} == {
        ("nickname", "unknown_field"), ("status", "read_only")}
    assert not DataSubject.objects.exists()


def test_mandatory_fields_and_address_fields_are_named(api):
    data = problem(api.put(data=body(phone=..., addresses=[{"region": "R", "city": "", "street": "S"}])),
                   400, "validation")
    assert {(error["field"], error["code"]) for error in data["errors"]} == {
        ("phone", "mandatory"), ("addresses.0.city", "mandatory")}


@pytest.mark.parametrize("raw", ["[1, 2]", "null", "\"text\"", "42", "{\"full_name\": [\"A\"]}"])
def test_json_of_another_shape_is_400(api, raw):
    problem(api.put(raw=raw), 400, "validation")


def test_broken_json_is_400_and_another_content_type_is_415(api):
    problem(api.put(raw="{not json"), 400, "parse_error")
    problem(api.put(raw="full_name=A", content_type="application/x-www-form-urlencoded"), 415, "unsupported_media_type")


def test_a_body_over_the_limit_is_413(api):
    problem(api.put(raw=json.dumps(body(full_name="A" * 300_000))), 413, "too_large")


def test_if_match_with_the_current_version_passes_a_stale_one_is_409(api):
    first = api.put()
    second = api.put(data=body(full_name="Aziza Rahimova"), HTTP_IF_MATCH=first["ETag"])
    assert second.status_code == 200, second.content
    history = DataSubject.history.count()
    stale = problem(api.put(data=body(full_name="Based on the first"), HTTP_IF_MATCH=first["ETag"]),
                    409, "stale_version")
    assert "api:mobile-app" in stale["detail"]
    assert DataSubject.objects.get().full_name == "Aziza Rahimova"
    assert DataSubject.history.count() == history
    problem(api.patch(data={"full_name": "Patched"}, HTTP_IF_MATCH='"garbage"'), 409, "stale_version")


def test_if_match_on_a_put_that_would_create_is_412(api):
    problem(api.put(HTTP_IF_MATCH='"subjects.datasubject:1;subjects.address:0"'), 412, "precondition_failed")
    # Bad input is told first; an empty If-Match is no If-Match.
    problem(api.put(raw="", HTTP_IF_MATCH='"subjects.datasubject:1;subjects.address:0"'), 400, "validation")
    assert not DataSubject.objects.exists()
    assert api.put(HTTP_IF_MATCH="").status_code == 201


@pytest.mark.parametrize("status", [DataSubject.Status.CLOSED, DataSubject.Status.ANONYMISED])
def test_an_erased_subject_refuses_updates_with_409(api, status):
    subject = ClosedSubjectFactory(status=status, account_id="SX1002345", full_name="")
    problem(api.put(), 409, "erased")
    problem(api.patch(data={"full_name": "Back"}), 409, "erased")
    subject.refresh_from_db()
    assert subject.full_name == ""


def test_write_scope_is_needed_and_a_token(api):
    _client, reader = make_api_client(scopes=["consents:read"])
    problem(api.put(token=reader), 403, "missing_scope")
    problem(api.patch(token=reader), 403, "missing_scope")
    problem(api.put(token="nope"), 401, "authentication_failed")
    assert not DataSubject.objects.exists()


def test_no_token_is_401_and_other_methods_are_405(api, client):
    response = client.put(URL.format("SX1002345"), data=json.dumps(body()), content_type="application/json")
    problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")
    _client, secret = make_api_client()
    for method in ("get", "post", "delete"):
        response = getattr(client, method)(URL.format("SX1002345"), **bearer(secret))
        problem(response, 405, "method_not_allowed")
        assert "PUT" in response["Allow"]


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=JSON_OBJECTS, method=st.sampled_from(["put", "patch"]),
       account_id=st.sampled_from(["SX1002345", "sx 1002345", "SX1", "x"]))
def test_any_json_body_gets_a_documented_answer_never_a_500(api, data, method, account_id):
    response = api.send(method, account_id, data)
    assert response.status_code in {200, 201, 400, 404, 409}, response.content
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/problem+json"


def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    assert "subjects_put" in text and "subjects_consents" in text and "stale_version" in text
    assert client.get("/api/docs/").status_code == 200


# GET …/consents


@pytest.fixture
def subject():
    return DataSubjectFactory(account_id="SX1002345")


@pytest.fixture
def policy():
    return PolicyVersionFactory(published=True)


def grant(subject, clause, policy, **options):
    return consent_grant(subject=subject, purpose=Purpose.objects.get(clause=clause), evidence=APP,
                         occurred_at=timezone.now() - timedelta(days=3), policy_version=policy, actor=None, **options)


def test_consents_in_force_cookies_and_policy(api, subject, policy):
    grant(subject, "1.3.2.5", policy, expires_at=timezone.now() + timedelta(days=30))
    grant(subject, "1.3.2.5", policy, recipient_kind="research_partner")
    withdrawn = grant(subject, "1.3.2.5", policy, recipient_kind="processor")
    consent_withdraw(consent=withdrawn.consent, occurred_at=timezone.now() - timedelta(days=1), evidence=APP,
                     actor=None)
    for category, kind, days in (("analytics", "grant", 5), ("analytics", "withdraw", 2), ("advertising", "grant", 1)):
        cookie_consent_record(subject=subject, category=category, kind=kind, evidence=APP,
                              occurred_at=timezone.now() - timedelta(days=days))
    policy_accept(subject=subject, version=policy, accepted_at=timezone.now() - timedelta(days=3), channel="app",
                  actor=None)
    response = api.consents("sx-1002345")
    assert response.status_code == 200, response.content
    data = response.json()
    assert [(c["purpose"], c["recipient_kind"]) for c in data["consents"]] == [
        ("1.3.2.5", None), ("1.3.2.5", "research_partner")]
    assert data["consents"][0]["expires_at"] is not None
    assert data["cookies"] == {"strictly_necessary": True, "functional": False, "analytics": False,
                               "advertising": True}
    assert data["policy"]["accepted_version"] == policy.version
    assert data["policy"]["version_in_force"] == PolicyVersion.objects.in_force().version
    assert data["status"] == "active" and data["account_id"] == "SX1002345"


def test_reading_consents_writes_the_access_log_naming_the_client(api, subject):
    api.consents()
    event = AccessEvent.objects.get()
    assert (event.action, event.username, event.user_id, event.subject_id, event.object_type, event.ip) == (
        AccessEvent.Action.CONSENTS_READ, "api:mobile-app", None, subject.pk, "subjects.datasubject", "127.0.0.1")


def test_the_consents_read_is_one_statement_however_many_consents(subject, policy, django_assert_num_queries):
    for recipient_kind in ("", "processor", "research_partner"):
        grant(subject, "1.3.2.5", policy, recipient_kind=recipient_kind)
    with django_assert_num_queries(1):
        found = subject_consents_now("SX1002345")
    assert len(found.consents) == 3


def test_consents_take_a_constant_number_of_queries(api, subject, policy, django_assert_num_queries,
                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        # The client's first call records its token's use, and the access log's digest ids are
        # looked up once per process (kept once committed): neither is paid again.
        api.consents()
    # PostgreSQL: the token, the read (consents/in_force.py), the access-log row with its digest.
    # SQLite logs the read through the ORM's save path: a savepoint, the row, the row read back for its
    # digest, the digest, the release.
    expected = 3 if connection.vendor == "postgresql" else 7
    with django_assert_num_queries(expected):
        assert api.consents().status_code == 200
    for recipient_kind in ("", "processor"):
        grant(subject, "1.3.2.5", policy, recipient_kind=recipient_kind)
    for category in ("functional", "analytics", "advertising"):
        cookie_consent_record(subject=subject, category=category, kind="grant", evidence=APP,
                              occurred_at=timezone.now() - timedelta(hours=1))
    policy_accept(subject=subject, version=policy, accepted_at=timezone.now() - timedelta(hours=1), channel="app",
                  actor=None)
    with django_assert_num_queries(expected):
        response = api.consents()
    assert len(response.json()["consents"]) == 2


def test_the_consents_of_an_unknown_or_malformed_account_are_404(api):
    problem(api.consents("SX9999999"), 404, "not_found")
    problem(api.consents("nonsense"), 404, "not_found")
    assert not AccessEvent.objects.exists()


def test_an_erased_subject_has_nothing_in_force_under_its_old_id_too(api, policy):
    subject = DataSubjectFactory(account_id="SX1002345")
    grant(subject, "1.3.2.5", policy)
    cookie_consent_record(subject=subject, category="analytics", kind="grant", evidence=APP,
                          occurred_at=timezone.now() - timedelta(hours=1))
    subject.status = DataSubject.Status.CLOSED
    subject.account_id = f"ERASED-{subject.pk}"
    subject.save()
    data = api.consents("SX1002345").json()
    assert data["status"] == "closed" and data["consents"] == []
    assert data["cookies"] == {"strictly_necessary": True, "functional": False, "analytics": False,
                               "advertising": False}
    assert api.consents(f"ERASED-{subject.pk}").json()["status"] == "closed"


def test_consents_need_their_scope(api, subject):
    _client, writer = make_api_client(scopes=["subjects:write"])
    problem(api.consents(token=writer), 403, "missing_scope")
    assert not AccessEvent.objects.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner")
def test_postgresql_answers_the_consents_from_indexes(subject, policy):
    with CaptureQueriesContext(connection) as context:
        subject_consents_now("SX1002345")
        subject_consents_now("SX9999999")  # a miss also looks for an erased subject's old id
    assert len(context.captured_queries) == 3
    with transaction.atomic(), connection.cursor() as cursor:
        # With a handful of rows a sequential scan is cheapest; forbid it to prove an index serves.
        cursor.execute("SET LOCAL enable_seqscan = off")
        for query in context.captured_queries:
            cursor.execute(f"EXPLAIN {query['sql']}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            # Policy versions are a few rows ever (one per published policy): that table is read whole.
            scans = [line for line in plan.splitlines() if "Seq Scan" in line and "consents_policyversion" not in line]
            assert not scans, plan


def test_the_default_reason_names_the_system_in_the_language_it_is_written_in(client):
    system = SystemFactory(code="mobile-app-uz", name="ShipEx mobile app", name_uz="ShipEx mobil ilovasi",
                           name_ru="Мобильное приложение ShipEx")
    _client, secret = make_api_client(name="mobile-app-uz", system=system)
    response = client.put(URL.format("SX1002345"), data=json.dumps(body()), content_type="application/json",
                          HTTP_ACCEPT_LANGUAGE="uz", **bearer(secret))
    assert response.status_code == 201, response.content
    reason = DataSubject.objects.get(account_id="SX1002345").history.get().history_change_reason
    assert "ShipEx mobil ilovasi" in reason and "mobile app" not in reason
