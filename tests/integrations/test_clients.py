"""API clients and their tokens: shown once, kept as a hash, rotated with an overlap, revoked at once;
scopes and rate limits per client; the commands and the admin pages that keep them, per role."""

import hashlib
import json
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation

from shipex_privacy.accounts.roles import AUDITOR, COMPLIANCE_OFFICER
from shipex_privacy.audit.events import AuditEvent
from shipex_privacy.audit.models import TrailEntry
from shipex_privacy.catalogue.models import System
from shipex_privacy.integrations.models import ApiClient, ApiToken, ApiTokenUse, Scope
from shipex_privacy.integrations.services import api_client_revoke, api_token_rotate
from tests.accounts.factories import StaffFactory
from tests.audit.page_forms import change_form_values
from tests.integrations.factories import bearer, make_api_client

pytestmark = pytest.mark.django_db

TOKEN_RE = re.compile(r"sxp_[A-Za-z0-9_\-]{20,}")
# One cheap call per scope: an answer other than 401/403 means the token and scope were accepted.
CALLS = {
    Scope.SUBJECTS_WRITE: ("put", "/api/v1/subjects/SX1000001", {}),
    Scope.CONSENTS_READ: ("get", "/api/v1/subjects/SX1000001/consents", None),
    Scope.EVENTS_WRITE: ("post", "/api/v1/events", []),
    Scope.REQUESTS_WRITE: ("post", "/api/v1/requests", {}),
    Scope.REQUESTS_READ: ("get", "/api/v1/requests/1", None),
    Scope.TASKS_ANSWER: ("post", "/api/v1/tasks/1/answer", {"outcome": "done"}),
}


def call(client, secret, scope=Scope.REQUESTS_READ):
    method, url, body = CALLS[scope]
    kwargs = {"data": json.dumps(body), "content_type": "application/json"} if body is not None else {}
    return getattr(client, method)(url, **kwargs, **bearer(secret))


def later(monkeypatch, **delta):
    """Move the clock forward (everything that reads django.utils.timezone.now)."""
    moment = timezone.now() + timedelta(**delta)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    return moment


def every_stored_text() -> str:
    """Every value of every table, as text: where a token must never be."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


# ---- tokens -------------------------------------------------------------------------------------

def test_a_token_is_kept_only_as_its_hash(client):
    api_client, secret = make_api_client()
    token = ApiToken.objects.get(client=api_client)
    assert token.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret.startswith(token.prefix) and len(token.prefix) < len(secret) // 3
    assert call(client, secret).status_code == 404  # signed in; request 1 is not its own
    assert secret not in every_stored_text()


def test_after_rotation_the_old_token_works_for_the_overlap_then_stops(client, monkeypatch, compliance_officer):
    api_client, old = make_api_client()
    new = api_token_rotate(client=api_client, overlap=timedelta(hours=24), actor=compliance_officer).secret
    assert call(client, old).status_code == 404 and call(client, new).status_code == 404
    later(monkeypatch, hours=23)
    assert call(client, old).status_code == 404
    later(monkeypatch, hours=24, minutes=1)
    refused = call(client, old)
    assert refused.status_code == 401 and refused["Content-Type"] == "application/problem+json"
    assert call(client, new).status_code == 404
    ended = ApiToken.objects.get(prefix=old[:10]).history.latest()
    assert (ended.history_username, ended.history_change_reason.startswith("Rotated")) == (
        compliance_officer.username, True)


def test_a_rotation_with_no_overlap_stops_the_old_token_at_once(client):
    api_client, old = make_api_client()
    new = api_token_rotate(client=api_client, overlap=timedelta(0), actor=None).secret
    assert (call(client, old).status_code, call(client, new).status_code) == (401, 404)


def test_revocation_stops_every_token_at_once(client, compliance_officer):
    api_client, first = make_api_client()
    second = api_token_rotate(client=api_client, overlap=timedelta(days=7), actor=compliance_officer).secret
    api_client_revoke(client=api_client, actor=compliance_officer, reason="Phone with the token was lost")
    assert call(client, first).status_code == 401 and call(client, second).status_code == 401
    assert not ApiToken.objects.valid().filter(client=api_client).exists()
    row = ApiClient.objects.get(pk=api_client.pk).history.latest()
    assert (row.history_username, row.history_change_reason) == (compliance_officer.username,
                                                                 "Phone with the token was lost")


def test_revocation_ends_each_token_in_its_history(compliance_officer):
    api_client, _first = make_api_client()
    api_token_rotate(client=api_client, overlap=timedelta(days=7), actor=compliance_officer)
    api_client_revoke(client=api_client, actor=compliance_officer, reason="Phone with the token was lost")
    for token in ApiToken.objects.filter(client=api_client):
        row = token.history.latest()
        assert token.ends_at is not None and token.ends_at <= timezone.now()
        assert (row.history_username, row.history_change_reason) == (compliance_officer.username,
                                                                     "Phone with the token was lost")


@pytest.mark.parametrize("scope", list(Scope))
def test_each_endpoint_needs_its_scope(client, scope):
    _with, allowed = make_api_client(scopes=[scope])
    _without, refused = make_api_client(scopes=[other for other in Scope if other != scope])
    assert call(client, allowed, scope).status_code not in (401, 403)
    response = call(client, refused, scope)
    assert response.status_code == 403 and response.json()["code"] == "missing_scope"
    assert scope in response.json()["detail"]


def test_a_client_over_its_rate_limit_gets_429_with_retry_after(client):
    _slow, slow = make_api_client(rate_limit=2)
    _other, other = make_api_client(rate_limit=2)
    assert [call(client, slow).status_code for _ in range(2)] == [404, 404]
    response = call(client, slow)
    assert response.status_code == 429 and response["Content-Type"] == "application/problem+json"
    assert 0 < int(response["Retry-After"]) <= 60
    assert call(client, other).status_code == 404  # each client counts its own calls


def test_last_use_is_recorded_at_most_once_a_minute(client, monkeypatch):
    api_client, secret = make_api_client()
    call(client, secret)
    use = ApiTokenUse.objects.get(token__client=api_client)
    first = use.last_used_at
    later(monkeypatch, seconds=30)
    call(client, secret)
    use.refresh_from_db()
    assert use.last_used_at == first
    moment = later(monkeypatch, minutes=2)
    call(client, secret, Scope.REQUESTS_READ)
    use.refresh_from_db()
    assert use.last_used_at == moment and use.last_ip == "127.0.0.1"
    assert ApiToken.objects.get(client=api_client).history.count() == 1  # using a token writes no history


# ---- commands -----------------------------------------------------------------------------------

def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    # In English, the source language: a test client's request before leaves its own language active.
    with translation.override("en"):
        call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_create_api_client_prints_only_the_token_and_history_names_the_operator(client):
    out, err = run("create_api_client", "mobile-app", "--system", "shipex-app", "--scopes",
                   "requests:write, events:write", "--rate-limit", "120")
    secret = out.strip()
    assert TOKEN_RE.fullmatch(secret) and out == secret + "\n"
    assert "mobile-app" in err and secret not in err
    api_client = ApiClient.objects.get(name="mobile-app")
    assert (api_client.system.code, api_client.scopes, api_client.rate_limit) == (
        "shipex-app", ["events:write", "requests:write"], 120)
    assert api_client.history.get().history_username == "system:operator"
    assert call(client, secret, Scope.REQUESTS_WRITE).status_code == 400  # signed in; the body is empty
    assert secret not in every_stored_text()


def test_create_api_client_as_a_staff_member(compliance_officer, support_agent):
    run("create_api_client", "website", "--system", "shipex-web", "--scopes", "subjects:write",
        "--as", compliance_officer.username)
    assert ApiClient.objects.get(name="website").history.get().history_username == compliance_officer.username
    with pytest.raises(CommandError, match="may not do this"):
        run("create_api_client", "website-2", "--system", "shipex-web", "--scopes", "subjects:write",
            "--as", support_agent.username)
    with pytest.raises(CommandError, match="No active staff member"):
        run("create_api_client", "website-3", "--system", "shipex-web", "--scopes", "subjects:write", "--as", "nobody")
    assert ApiClient.objects.count() == 1


@pytest.mark.parametrize(("args", "message"), [
    (("--system", "courier", "--scopes", "events:write"), "no system with the code 'courier'. Systems: billing"),
    (("--system", "tms", "--scopes", "events:write,subjects:delete"), "Unknown scopes: subjects:delete"),
    (("--system", "tms", "--scopes", " , "), "at least one scope"),
    (("--system", "tms", "--scopes", "events:write", "--rate-limit", "0"), "rate"),
])
def test_create_api_client_refuses_clearly_and_creates_nothing(args, message):
    with pytest.raises(CommandError, match=message):
        run("create_api_client", "courier-app", *args)
    assert not ApiClient.objects.exists() and not ApiToken.objects.exists()


def test_create_api_client_refuses_a_name_taken_or_not_a_slug():
    run("create_api_client", "courier-app", "--system", "tms", "--scopes", "events:write")
    with pytest.raises(CommandError, match="already exists"):
        run("create_api_client", "courier-app", "--system", "crm", "--scopes", "events:write")
    with pytest.raises(CommandError, match="name"):
        run("create_api_client", "courier app!", "--system", "crm", "--scopes", "events:write")
    assert ApiClient.objects.count() == ApiToken.objects.count() == 1


def test_rotate_api_client_prints_the_new_token(client, monkeypatch):
    api_client, old = make_api_client(name="call-centre")
    out, err = run("rotate_api_client", "call-centre", "--overlap-hours", "2")
    new = out.strip()
    assert TOKEN_RE.fullmatch(new) and new != old and new not in err and "call-centre" in err
    assert call(client, old).status_code == call(client, new).status_code == 404
    later(monkeypatch, hours=2, seconds=1)
    assert (call(client, old).status_code, call(client, new).status_code) == (401, 404)
    assert ApiToken.history.filter(client_id=api_client.pk, history_type="~").get().history_username == \
        "system:operator"


def test_revoke_api_client_stops_its_tokens(client):
    api_client, secret = make_api_client(name="website")
    _out, err = run("revoke_api_client", "website", "--reason", "Website rebuilt")
    assert "website" in err and call(client, secret).status_code == 401
    row = ApiClient.objects.get(pk=api_client.pk).history.latest()
    assert (row.history_username, row.history_change_reason) == ("system:operator", "Website rebuilt")
    with pytest.raises(CommandError, match="already revoked"):
        run("revoke_api_client", "website")
    with pytest.raises(CommandError, match="is revoked"):
        run("rotate_api_client", "website", "--overlap-hours", "1")


@pytest.mark.parametrize(("command", "args"), [
    ("revoke_api_client", ()), ("rotate_api_client", ("--overlap-hours", "1")),
])
def test_commands_on_an_unknown_client_say_so(command, args):
    with pytest.raises(CommandError, match="no API client named 'ghost'"):
        run(command, "ghost", *args)


def test_rotate_refuses_an_overlap_out_of_range():
    make_api_client(name="website")
    with pytest.raises(CommandError, match="overlap"):
        run("rotate_api_client", "website", "--overlap-hours", "-1")
    assert ApiToken.objects.count() == 1


# ---- the admin ----------------------------------------------------------------------------------

CHANGELIST = "admin:integrations_apiclient_changelist"


@pytest.fixture
def officer_client(client, compliance_officer):
    client.force_login(compliance_officer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def add_in_admin(client, **values):
    data = {"name": "mobile-app", "system": System.objects.get(code="shipex-app").pk,
            "scopes": ["requests:write", "requests:read"], "rate_limit": "600", "note": "", **values}
    return client.post(reverse("admin:integrations_apiclient_add"), data)


def test_an_officer_creates_a_client_and_sees_its_token_once(officer_client, compliance_officer):
    response = add_in_admin(officer_client)
    assert response.status_code == 200, response.content
    assert "no-store" in response["Cache-Control"]
    secrets = TOKEN_RE.findall(response.content.decode())
    assert len(secrets) == 1
    secret = secrets[0]
    api_client = ApiClient.objects.get(name="mobile-app")
    assert api_client.scopes == ["requests:read", "requests:write"]
    assert call(officer_client, secret, Scope.REQUESTS_WRITE).status_code == 400  # signed in, empty body

    # Never again: not on the list, the record, its history, nor anywhere in the database.
    for url in (reverse(CHANGELIST), reverse("admin:integrations_apiclient_change", args=[api_client.pk]),
                reverse("admin:integrations_apiclient_history", args=[api_client.pk])):
        page = officer_client.get(url)
        assert page.status_code == 200 and secret not in page.content.decode()
    assert secret not in every_stored_text()
    events = TrailEntry.objects.filter(model__startswith="integrations.").values_list("model", "event", "username")
    assert set(events) == {("integrations.apiclient", AuditEvent.API_CLIENT_CHANGED, compliance_officer.username),
                           ("integrations.apitoken", AuditEvent.API_TOKEN_ISSUED, compliance_officer.username)}


@pytest.mark.parametrize(("values", "field"), [
    ({"scopes": []}, "scopes"), ({"scopes": ["subjects:delete"]}, "scopes"), ({"name": "not a slug"}, "name"),
    ({"rate_limit": "0"}, None), ({"system": ""}, "system"),
])
def test_a_bad_client_form_is_shown_again_and_nothing_is_created(officer_client, values, field):
    response = add_in_admin(officer_client, **values)
    assert response.status_code == 200 and not TOKEN_RE.search(response.content.decode())
    errors = response.context["adminform"].form.errors
    assert (field in errors) if field else errors
    assert not ApiClient.objects.exists()


def test_a_name_already_taken_is_refused_in_the_form(officer_client):
    make_api_client(name="mobile-app")
    response = add_in_admin(officer_client)
    assert "name" in response.context["adminform"].form.errors and ApiClient.objects.count() == 1


def test_an_officer_changes_the_scopes_with_a_reason(officer_client, compliance_officer):
    api_client, _secret = make_api_client(scopes=[Scope.REQUESTS_READ])
    url = reverse("admin:integrations_apiclient_change", args=[api_client.pk])
    values = change_form_values(officer_client.get(url))
    values |= {"scopes": ["requests:read", "consents:read"], "change_reason": ["The app checks consents now"]}
    assert officer_client.post(url, values).status_code == 302
    api_client.refresh_from_db()
    assert api_client.scopes == ["consents:read", "requests:read"]
    row = api_client.history.latest()
    assert (row.history_username, row.history_change_reason) == (compliance_officer.username,
                                                                 "The app checks consents now")
    assert TrailEntry.objects.filter(model="integrations.apiclient", history_id=row.history_id).get().event == \
        AuditEvent.API_CLIENT_CHANGED


def test_the_tokens_show_prefix_validity_and_last_use_never_the_token(officer_client):
    api_client, secret = make_api_client()
    call(officer_client, secret)
    page = officer_client.get(reverse("admin:integrations_apiclient_change", args=[api_client.pk])).content.decode()
    assert ApiToken.objects.get().prefix in page and secret not in page and "127.0.0.1" in page
    listing = officer_client.get(reverse(CHANGELIST)).content.decode()
    assert api_client.name in listing and "—" not in listing.split(api_client.name, 1)[1].split("</tr>")[0]


def test_an_officer_rotates_a_token_giving_the_overlap(officer_client, compliance_officer):
    api_client, old = make_api_client()
    chosen = {"action": "rotate_token", "_selected_action": [api_client.pk], "index": "0"}
    asked = officer_client.post(reverse(CHANGELIST), chosen)
    assert asked.status_code == 200 and "overlap_hours" in asked.content.decode()
    assert ApiToken.objects.count() == 1
    refused = officer_client.post(reverse(CHANGELIST), {**chosen, "apply": "1", "overlap_hours": "-3"})
    assert refused.status_code == 200 and ApiToken.objects.count() == 1
    shown = officer_client.post(reverse(CHANGELIST), {**chosen, "apply": "1", "overlap_hours": "24"})
    assert shown.status_code == 200 and "no-store" in shown["Cache-Control"]
    new = TOKEN_RE.findall(shown.content.decode())
    assert len(new) == 1 and new[0] != old
    old_token = ApiToken.objects.get(prefix=old[:10])
    assert timedelta(hours=23) < old_token.ends_at - timezone.now() <= timedelta(hours=24)
    assert old_token.history.latest().history_username == compliance_officer.username
    assert call(officer_client, old).status_code == call(officer_client, new[0]).status_code == 404
    assert new[0] not in every_stored_text()


def test_an_officer_revokes_a_client_giving_a_reason(officer_client, compliance_officer):
    api_client, secret = make_api_client()
    chosen = {"action": "revoke", "_selected_action": [api_client.pk], "index": "0"}
    asked = officer_client.post(reverse(CHANGELIST), {**chosen, "apply": "1", "reason": "  "})
    assert asked.status_code == 200 and ApiClient.objects.get().is_active
    done = officer_client.post(reverse(CHANGELIST), {**chosen, "apply": "1", "reason": "Contract ended"})
    assert done.status_code == 302 and call(officer_client, secret).status_code == 401
    api_client.refresh_from_db()
    assert not api_client.is_active
    assert api_client.history.latest().history_change_reason == "Contract ended"
    page = officer_client.get(reverse("admin:integrations_apiclient_change", args=[api_client.pk])).content.decode()
    assert 'name="rate_limit"' not in page  # a revoked client is read only


def test_auditors_read_clients_and_tokens_and_change_nothing(client, auditor):
    api_client, secret = make_api_client()
    client.force_login(auditor)
    assert client.get(reverse(CHANGELIST)).status_code == 200
    change = reverse("admin:integrations_apiclient_change", args=[api_client.pk])
    page = client.get(change)
    assert page.status_code == 200 and 'name="rate_limit"' not in page.content.decode()
    assert client.get(reverse("admin:integrations_apitoken_changelist")).status_code == 200
    assert client.get(reverse("admin:integrations_apiclient_add")).status_code == 403
    assert client.post(change, {"rate_limit": "1"}).status_code == 403
    client.post(reverse(CHANGELIST), {"action": "revoke", "_selected_action": [api_client.pk], "index": "0",
                                      "apply": "1", "reason": "Auditor tries"})
    client.post(reverse(CHANGELIST), {"action": "rotate_token", "_selected_action": [api_client.pk], "index": "0",
                                      "apply": "1", "overlap_hours": "0"})
    assert ApiClient.objects.get().is_active and ApiToken.objects.count() == 1
    assert call(client, secret).status_code == 404


def test_support_agents_see_no_api_clients(client, support_agent):
    api_client, _secret = make_api_client()
    client.force_login(support_agent)
    for url in (reverse(CHANGELIST), reverse("admin:integrations_apiclient_add"),
                reverse("admin:integrations_apiclient_change", args=[api_client.pk]),
                reverse("admin:integrations_apitoken_changelist")):
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize("role", [COMPLIANCE_OFFICER, AUDITOR])
def test_the_list_of_clients_takes_a_fixed_number_of_queries(client, role, django_assert_max_num_queries):
    client.force_login(StaffFactory(role=role))
    for _ in range(3):
        _api_client, secret = make_api_client()
        call(client, secret)
    client.get(reverse(CHANGELIST))
    with django_assert_max_num_queries(12):
        assert client.get(reverse(CHANGELIST)).status_code == 200


def test_a_demo_newcomer_finds_the_systems_the_readme_names():
    # The README's create_api_client lines use these codes, seeded by catalogue 0002.
    codes = set(System.objects.values_list("code", flat=True))
    assert {"shipex-app", "shipex-web", "tms", "crm"} <= codes

