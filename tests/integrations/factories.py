"""API clients for tests: ``client, secret = make_api_client(scopes=[...])``, then ``**bearer(secret)``.

The secret exists only here (it is shown once and stored as a hash), so the helper hands it back.
"""

import itertools

from shipex_privacy.catalogue.models import System
from shipex_privacy.integrations.models import ApiClient, Scope
from shipex_privacy.integrations.services import api_client_create
from tests.catalogue.factories import SystemFactory

_names = itertools.count(1)


def make_api_client(*, name: str | None = None, scopes: list[str] | None = None, system: System | None = None,
                    rate_limit: int = 600, actor=None) -> tuple[ApiClient, str]:
    """A client of ``system`` (a new test system by default) with ``scopes`` (all of them by default)."""
    issued = api_client_create(
        name=name or f"test-client-{next(_names)}", system=system or SystemFactory(),
        scopes=list(Scope.values) if scopes is None else scopes, actor=actor, rate_limit=rate_limit)
    return issued.token.client, issued.secret


def bearer(secret: str) -> dict:
    """The test client's keyword for ``Authorization: Bearer <secret>``."""
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


class ApiClientFactory:
    """``ApiClientFactory(scopes=[...])`` → (client, secret), for those who prefer a factory's name."""

    def __new__(cls, **kwargs) -> tuple[ApiClient, str]:
        return make_api_client(**kwargs)
