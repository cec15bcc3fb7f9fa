"""What drf-spectacular needs to document our own pieces: the clients' Bearer tokens."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ClientTokenScheme(OpenApiAuthenticationExtension):
    target_class = "shipex_privacy.api.authentication.ClientTokenAuthentication"
    name = "clientToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The token of an API client, shown once when the client is created or rotated "
                           "(manage.py create_api_client).",
        }
