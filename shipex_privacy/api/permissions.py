"""Scopes: each view names the scope its method needs; a client without it gets 403."""

from django.utils.translation import gettext as _
from rest_framework import exceptions, permissions


class HasScope(permissions.BasePermission):
    """The view's ``required_scopes`` maps an HTTP method to the scope it needs."""

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if token is None:
            raise exceptions.NotAuthenticated()
        scope = view.required_scopes.get(request.method)
        if scope is None:
            return True  # a method the view does not serve: the view answers 405
        if not token.client.has_scope(scope):
            raise exceptions.PermissionDenied(
                _("This client lacks the scope %(scope)s.") % {"scope": scope}, code="missing_scope")
        return True
