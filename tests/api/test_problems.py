"""The API's error shape (api/problems.py): problem+json with a code, for paths no endpoint serves too."""

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions

from shipex_privacy.api.problems import PROBLEM_CONTENT_TYPE, field_errors, from_django
from tests.integrations.factories import bearer, make_api_client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/v1/requests/-1", "/api/v1/nothing", "/api/v2/events", "/api/v1/subjects/a/b"])
def test_a_path_no_endpoint_serves_is_a_problem_not_an_html_page(client, path):
    _client, secret = make_api_client()
    response = client.get(path, **bearer(secret))
    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert response.json()["code"] == "not_found"


def test_no_token_is_401_with_the_scheme_named(client):
    response = client.get("/api/v1/requests/1")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["code"] == "not_authenticated"


def test_nested_field_errors_become_dotted_paths():
    detail = exceptions.ValidationError({"addresses": [{}, {"city": ["Required."]}], "phone": ["Not a number."]}).detail
    assert field_errors(detail) == [
        {"field": "addresses.1.city", "code": "invalid", "detail": "Required."},
        {"field": "phone", "code": "invalid", "detail": "Not a number."},
    ]


def test_a_service_refusal_with_a_conflict_code_is_409_and_others_400():
    assert isinstance(from_django(DjangoValidationError("Erased.", code="erased")), exceptions.APIException)
    assert from_django(DjangoValidationError("Erased.", code="erased")).status_code == 409
    refused = from_django(DjangoValidationError({"phone": DjangoValidationError("Bad.", code="invalid")}))
    assert refused.status_code == 400
    assert refused.detail["phone"][0].code == "invalid"


def test_every_api_answer_says_how_long_the_server_took(client):
    response = client.get("/api/v1/requests/1")
    name, _sep, duration = response["Server-Timing"].partition(";dur=")
    assert name == "app" and float(duration) > 0
    assert not client.get("/admin/login/").has_header("Server-Timing")  # the API's alone


def test_the_api_answers_in_the_callers_language_and_in_uzbek_by_default(client):
    assert client.get("/api/v1/nothing")["Content-Language"] == "uz"
    assert client.get("/api/v1/nothing", HTTP_ACCEPT_LANGUAGE="ru")["Content-Language"] == "ru"
    answer = client.get("/api/v1/nothing", HTTP_ACCEPT_LANGUAGE="en")
    assert answer.json()["title"] == "Not found"
    # The back office itself stays Uzbek whatever the browser says.
    assert client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="en")["Content-Language"] == "uz"
