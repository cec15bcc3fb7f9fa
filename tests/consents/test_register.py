"""The public cookie and counter register: JSON and an HTML table per language, no personal data."""

import json

import pytest
from django.core.cache import cache
from django.urls import reverse

from shipex_privacy.consents.models import Cookie
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


def test_json_register_lists_cookies_and_counters_without_login(client):
    response = client.get(reverse("consents:cookie_register_json"))
    assert response.status_code == 200 and response["Access-Control-Allow-Origin"] == "*"
    data = json.loads(response.content)
    names = {cookie["name"]: cookie for cookie in data["cookies"]}
    assert names["sessionid"]["category"] == "strictly_necessary"
    assert names["_ym_uid"]["purposes"] == ["1.3.2.4", "1.3.2.6"]
    metrica = next(counter for counter in data["counters"] if counter["name"] == "Yandex Metrica")
    assert metrica["parameters"]["tracks_clicks"] is True and metrica["processing_country"] == "RU"


def test_register_holds_no_personal_data(client):
    subject = DataSubjectFactory()
    content = client.get(reverse("consents:cookie_register_json")).content.decode()
    content += client.get(reverse("consents:cookie_register_html", args=["uz"])).content.decode()
    for value in (subject.full_name, subject.phone, subject.email, subject.account_id):
        assert value not in content


@pytest.mark.parametrize("language", ["uz", "ru", "en"])
def test_html_register_in_each_language_can_be_embedded(client, language):
    lang_attribute = f'lang="{language}"'
    response = client.get(reverse("consents:cookie_register_html", args=[language]))
    assert response.status_code == 200
    assert lang_attribute in response.content.decode()
    assert "X-Frame-Options" not in response
    description = getattr(Cookie.objects.get(name="sessionid"), f"description_{language}")
    assert description in response.content.decode()


def test_unknown_language_is_not_found(client):
    assert client.get(reverse("consents:cookie_register_html", args=["de"])).status_code == 404


def test_register_is_cached(client, django_assert_num_queries):
    url = reverse("consents:cookie_register_json")
    client.get(url)
    with django_assert_num_queries(0):
        assert client.get(url).status_code == 200
    assert "max-age=600" in client.get(url)["Cache-Control"]


def test_register_is_read_only(client):
    assert client.post(reverse("consents:cookie_register_json")).status_code == 405
