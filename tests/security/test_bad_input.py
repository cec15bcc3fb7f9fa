"""Bad input from issue 6: a CSRF-less POST, script in a text field, a forged object id in a URL."""

import re

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import translation

from shipex_privacy.audit.services import record_save
from tests.accounts.factories import TEST_PASSWORD, StaffFactory
from tests.integrations.factories import bearer, make_api_client
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


# ---- A POST without the CSRF token is refused ----------------------------------------------------


def test_a_login_post_without_the_csrf_token_is_refused(support_agent):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("admin:login"), {"username": support_agent.username, "password": TEST_PASSWORD})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_an_admin_change_without_the_csrf_token_is_refused_and_changes_nothing(support_agent):
    subject = DataSubjectFactory(full_name="Karimov Aziz")
    client = Client(enforce_csrf_checks=True)
    client.force_login(support_agent)
    url = reverse("admin:subjects_datasubject_change", args=[subject.pk])
    response = client.post(url, {"full_name": "Forged", "change_reason": "forged"})
    assert response.status_code == 403
    subject.refresh_from_db()
    assert subject.full_name == "Karimov Aziz"
    assert subject.history.count() == 1


def test_the_same_post_with_the_token_gets_through_csrf(support_agent):
    client = Client(enforce_csrf_checks=True)
    page = client.get(reverse("admin:login")).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    response = client.post(reverse("admin:login"), {
        "username": support_agent.username, "password": TEST_PASSWORD, "csrfmiddlewaretoken": token,
    })
    assert response.status_code == 302


# ---- Script typed into a text field is shown as text --------------------------------------------


@pytest.fixture
def scripted_subject(catalogue, support_agent):
    subject = DataSubjectFactory(full_name="Karimov Aziz")
    subject.full_name = SCRIPT
    record_save(instance=subject, actor=support_agent, reason=f"DSR #42 {SCRIPT}")
    return subject


@pytest.mark.parametrize("role", ["support_agent", "auditor"])
@pytest.mark.parametrize("page", ["changelist", "change", "history"])
def test_script_in_a_text_field_is_escaped(request, client, scripted_subject, role, page):
    client.force_login(request.getfixturevalue(role))
    args = [] if page == "changelist" else [scripted_subject.pk]
    html = client.get(reverse(f"admin:subjects_datasubject_{page}", args=args)).content.decode()
    assert SCRIPT not in html
    assert ESCAPED in html


# ---- A forged object id in a URL: refused (404, or the admin's "does not exist"), never a 500 ----

FORGED_IDS = ["999999999", "abc", "1' OR '1'='1", "-1", "1.5", "..%2F..%2Fetc%2Fpasswd", "%00"]
# <int:pk>, <path:object_id>, and simple-history's regular expression ([^/]+) for a version.
ID_IN_ROUTE = re.compile(r"<(?:\w+:)?\w+>|\([^)]*\)")


def routes_with_an_id() -> list[str]:
    routes = []

    def walk(patterns, prefix):
        for pattern in patterns:
            route = str(pattern.pattern).lstrip("^").rstrip("$")
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + route)
            elif isinstance(pattern, URLPattern) and ID_IN_ROUTE.search(route) and "(?P<url>" not in route:
                routes.append(prefix + route)

    walk(get_resolver().url_patterns, "/")
    return routes


@pytest.fixture
def superuser(db):
    return StaffFactory(username="root", is_superuser=True)


@pytest.mark.parametrize("route", routes_with_an_id())
def test_a_forged_id_is_refused_never_a_server_error(client, superuser, route):
    client.force_login(superuser)
    # The API signs systems in by token, not staff by session: it gets a token of every scope.
    api = route.startswith("/api/")
    headers = bearer(make_api_client()[1]) if api else {}
    for value in FORGED_IDS:
        url = ID_IN_ROUTE.sub(value.replace("\\", ""), route)
        # A view that fails raises here; redirects are followed to where they end.
        response = client.get(url, follow=True, **headers)
        refused = (400, 404, 405) if api else (200, 403, 404, 405)
        assert response.status_code in refused, f"{url}: {response.status_code}"
        if response.status_code == 200:
            # Only Django's "does not exist" answer: the admin index with a warning.
            assert response.redirect_chain, f"{url} shows a page for an object that does not exist"
            assert response.redirect_chain[-1][0] == reverse("admin:index"), url


def test_a_forged_subject_id_says_it_does_not_exist(client, support_agent):
    client.force_login(support_agent)
    response = client.get(reverse("admin:subjects_datasubject_change", args=["999999999"]))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")
    with translation.override("uz"):
        messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert any("999999999" in message for message in messages)


def test_a_forged_id_on_the_reveal_page_is_not_found(client, compliance_officer):
    client.force_login(compliance_officer)
    url = reverse("admin:subjects_datasubject_reveal", args=["999999999"])
    assert client.get(url, {"field": "pinfl"}).status_code == 404
    assert client.post(url, {"field": "pinfl", "reason": "DSR #42"}).status_code == 404


@pytest.mark.parametrize("version", ["999999999", "abc", "1.5"])
def test_a_forged_version_of_a_real_subject_is_not_found(client, catalogue, support_agent, version):
    subject = DataSubjectFactory()
    client.force_login(support_agent)
    response = client.get(f"/admin/subjects/datasubject/{subject.pk}/history/{version}/")
    assert response.status_code == 404


# ---- Dates no consent can have: a form error, never a 500 ----------------------------------------
# Year 1 in Tashkent time is before year 1 in UTC; year 9999 west of Greenwich is after it. Saving
# either raised OverflowError. The consent services accept 2000–2099 and say so.

IMPLAUSIBLE_MOMENTS = ["0001-01-01 00:00:00", "1999-12-31 23:59:59", "9999-12-31 23:59:59"]


@pytest.fixture
def published_policy(db):
    from tests.consents.factories import PolicyVersionFactory

    return PolicyVersionFactory(published=True, version="2026.1")


@pytest.mark.parametrize("field", ["occurred_at", "expires_at"])
@pytest.mark.parametrize("moment", IMPLAUSIBLE_MOMENTS)
def test_a_grant_dated_outside_any_consent_is_a_form_error(client, support_agent, published_policy, field, moment):
    from django.utils import timezone

    from shipex_privacy.catalogue.models import Purpose
    from shipex_privacy.consents.models import Consent

    DataSubjectFactory(account_id="SX3000009")
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    values = {"occurred_at": timezone.localtime().strftime("%Y-%m-%d %H:%M:%S"), "expires_at": "", field: moment}
    response = client.post(reverse("admin:consents_consent_grant"), {
        "account_id": "SX3000009", "purpose": Purpose.objects.get(clause="1.3.2.5").pk, "channel": "office",
        "policy_version": published_policy.pk, **values,
    })
    assert response.status_code == 200
    said = " ".join(response.context["form"].non_field_errors())
    assert "not a plausible date" in said, said
    assert not Consent.objects.exists()


@pytest.mark.parametrize("moment", IMPLAUSIBLE_MOMENTS)
def test_a_withdrawal_dated_outside_any_consent_is_a_form_error(client, support_agent, published_policy, moment):
    from datetime import timedelta

    from django.utils import timezone

    from shipex_privacy.catalogue.models import Purpose
    from shipex_privacy.consents.services import Evidence, consent_grant

    consent = consent_grant(
        subject=DataSubjectFactory(), purpose=Purpose.objects.get(clause="1.3.2.5"), policy_version=published_policy,
        actor=support_agent, occurred_at=timezone.now() - timedelta(days=3), evidence=Evidence(channel="app"),
    ).consent
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    response = client.post(reverse("admin:consents_consent_withdraw", args=[consent.pk]),
                           {"occurred_at": moment, "channel": "app"})
    assert response.status_code == 200
    assert "not a plausible date" in " ".join(response.context["form"].non_field_errors())
    consent.refresh_from_db()
    assert consent.state == "granted" and consent.events.count() == 1
