"""The 403, 404, 500 and CSRF pages: in the staff member's language, in the admin's look, saying what to do."""

import pytest
from django.conf import settings as django_settings
from django.test import Client, RequestFactory
from django.utils import translation

from shipex_privacy.core import errors
from tests.accounts.factories import StaffFactory

HOME_LINK = 'href="/admin/"'


def in_language(language: str, text: str) -> str:
    with translation.override(language):
        return translation.gettext(text)


@pytest.fixture(autouse=True)
def _production_errors(settings):
    settings.DEBUG = False  # Django shows its technical pages instead when DEBUG is on


@pytest.mark.parametrize("language", ["uz", "ru"])
def test_404_speaks_the_chosen_language_and_links_home(client, support_agent, language):
    client.force_login(support_agent)
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get("/admin/no-such-page/")
    page = response.content.decode()
    assert response.status_code == 404
    assert f'<html lang="{language}"' in page
    assert in_language(language, "There is no such page") in page
    assert HOME_LINK in page and "/static/admin/css/base.css" in page


def test_404_is_uzbek_without_a_choice(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and '<html lang="uz"' in response.content.decode()


@pytest.mark.parametrize("language", ["uz", "ru"])
def test_403_names_the_role_and_whom_to_ask(client, support_agent, language):
    client.force_login(support_agent)
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get("/admin/catalogue/personaldatafield/")  # not a support agent's page
    page = response.content.decode()
    assert response.status_code == 403
    assert f'<html lang="{language}"' in page
    assert in_language(language, "Your role does not allow this page") in page
    assert "jasur" in page and in_language(language, "Support agent") in page
    assert HOME_LINK in page


@pytest.mark.parametrize("language", ["uz", "ru"])
def test_500_needs_neither_database_nor_request(language, django_assert_num_queries, db):
    request = RequestFactory().get("/admin/")  # no session, no user: the page must not ask for them
    with translation.override(language), django_assert_num_queries(0):
        response = errors.server_error(request)
    page = response.content.decode()
    assert response.status_code == 500
    assert f'<html lang="{language}"' in page
    assert in_language(language, "Something went wrong on our side") in page
    assert HOME_LINK in page


def test_500_falls_back_to_text_when_its_template_fails(monkeypatch):
    def broken(name):
        raise RuntimeError("template storage unavailable")

    monkeypatch.setattr(errors.loader, "get_template", broken)
    response = errors.server_error(RequestFactory().get("/"))
    assert response.status_code == 500 and b"500" in response.content


def test_a_server_error_in_a_view_shows_the_page(client, support_agent, monkeypatch):
    from shipex_privacy.core import home

    def fail(user):
        raise RuntimeError("boom")

    monkeypatch.setattr(home, "home_sections", fail)
    client.force_login(support_agent)
    client.raise_request_exception = False
    response = client.get("/admin/")
    assert response.status_code == 500
    assert in_language("uz", "Something went wrong on our side") in response.content.decode()


def test_csrf_failure_says_to_reload(db):
    client = Client(enforce_csrf_checks=True)
    StaffFactory(username="jasur")
    response = client.post("/admin/login/", {"username": "jasur", "password": "x"})
    page = response.content.decode()
    assert response.status_code == 403
    assert in_language("uz", "The form could not be accepted") in page and HOME_LINK in page
