"""Bearer tokens of API clients (integrations.ApiClient): the one way a ShipEx system signs in."""

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from shipex_privacy.audit.access import client_address
from shipex_privacy.audit.events import ApiActor
from shipex_privacy.integrations.services import token_lookup, token_record_use


class ClientTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <token>``. ``request.user`` is the client's ``ApiActor``, ``request.auth`` its token."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None  # no token at all: NotAuthenticated (401) from the permission check
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("The Authorization header must be: Bearer <token>."))
        try:
            secret = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("The token is not valid.")) from None
        token = token_lookup(secret)
        if token is None:
            raise exceptions.AuthenticationFailed(_("The token is unknown, ended or revoked."))
        token_record_use(token, client_address(request))
        return ApiActor(token.client.name), token

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'
