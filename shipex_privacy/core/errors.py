"""The 403, 404 and 500 pages (wired in config/urls.py) and the CSRF page (templates/403_csrf.html).

They speak the staff member's language (the language middleware has chosen it before any view
runs; Uzbek by default) and say what to do next, in the admin's look. The 500 page uses neither
the database nor the request: whatever broke may be either of them. If even its template fails,
a plain line of text is answered rather than nothing.
"""

import logging

from django.http import HttpResponseForbidden, HttpResponseNotFound, HttpResponseServerError
from django.template import loader
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import requires_csrf_token

from shipex_privacy.accounts.roles import AUDITOR, COMPLIANCE_OFFICER, SUPPORT_AGENT

logger = logging.getLogger(__name__)

ROLE_NAMES = {
    SUPPORT_AGENT: _("Support agent"),
    COMPLIANCE_OFFICER: _("Compliance officer"),
    AUDITOR: _("Auditor"),
}


def staff_context(request) -> dict:
    """Who is signed in and in which roles: the 403 page tells them what their role allows."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"signed_in": False}
    roles = [str(ROLE_NAMES.get(name, name)) for name in user.groups.values_list("name", flat=True)]
    return {"signed_in": True, "username": user.get_username(), "roles": roles, "is_staff": user.is_staff}


@requires_csrf_token
def permission_denied(request, exception=None, template_name="403.html"):
    context = staff_context(request)
    return HttpResponseForbidden(loader.get_template(template_name).render(context, request))


@requires_csrf_token
def page_not_found(request, exception=None, template_name="404.html"):
    context = {"path": request.path, **staff_context(request)}
    return HttpResponseNotFound(loader.get_template(template_name).render(context, request))


@requires_csrf_token
def server_error(request, template_name="500.html"):
    try:
        # No request: its context processors would read the session and the user from the database.
        body = loader.get_template(template_name).render({})
    except Exception:  # the error page itself must never be the second error
        logger.exception("The 500 page could not be rendered")
        body = "<h1>Server Error (500)</h1>"
    return HttpResponseServerError(body)
