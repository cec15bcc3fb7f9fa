"""Schemathesis, a property-based tester no one here wrote, against the live OpenAPI schema.

Every operation gets generated requests (valid and invalid) with a token of a client holding
every scope; for each answer: never a 500, and status, content type, headers and body exactly as
the schema documents them. The number of examples per operation is bounded so CI stays quick;
SCHEMATHESIS_EXAMPLES raises it for a longer run by hand. Examples are derandomised so a CI
run can be repeated exactly; a change of the schema changes what is explored.
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shipex_privacy.integrations.models import Scope
from tests.integrations.factories import make_api_client

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "30"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


def live_schema() -> schemathesis.BaseSchema:
    """The schema /api/schema/ serves, generated in-process (pytest-django has set Django up by now)."""
    loaded = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
    loaded.app = get_wsgi_application()  # calls go through Django in-process, inside the test's transaction
    return loaded


schema = live_schema()


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Django closes the database connection when a request ends outside a transaction it expects;
    inside the test's transaction that would close it mid-test (PostgreSQL). Django's own test
    client switches this off the same way while it sends a request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(db):
    return make_api_client(scopes=list(Scope.values), rate_limit=1_000_000)[1]


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_every_answer_is_as_documented(case, token):
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
