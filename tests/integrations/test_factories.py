import pytest

from shipex_privacy.integrations.models import ApiToken, Scope
from tests.integrations.factories import ApiClientFactory, bearer, make_api_client

pytestmark = pytest.mark.django_db


def test_a_test_client_signs_in_with_the_secret_it_was_given(client):
    api_client, secret = make_api_client(scopes=[Scope.REQUESTS_READ])
    assert api_client.scopes == ["requests:read"] and ApiToken.objects.filter(client=api_client).count() == 1
    assert client.get("/api/v1/requests/999999", **bearer(secret)).status_code != 401
    other, _ = ApiClientFactory()
    assert other.name != api_client.name and sorted(other.scopes) == sorted(Scope.values)
