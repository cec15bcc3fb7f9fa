import pytest

from shipex_privacy.catalogue.models import System
from shipex_privacy.integrations.services import api_client_create

pytestmark = pytest.mark.django_db


def test_foundation(client):
    system = System.objects.create(code="mobile-app", name="Mobile", owner="Team")
    issued = api_client_create(name="mobile-app", system=system, scopes=["events:write"], actor=None)
    assert client.get("/api/v1/requests/1").status_code == 401
    response = client.get("/api/v1/requests/1", HTTP_AUTHORIZATION="Bearer " + issued.secret)
    assert response.status_code == 405, response.content
    assert response["Content-Type"] == "application/problem+json"
    response = client.get("/api/v1/requests/1", HTTP_AUTHORIZATION="Bearer nope")
    assert response.status_code == 401
    print(response.json(), response["WWW-Authenticate"])
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
