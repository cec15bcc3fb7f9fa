"""Every error the API gives is ``application/problem+json`` (RFC 9457) with a code a program can read.

    {"type": "urn:shipex:problem:validation", "title": "...", "status": 400, "code": "validation",
     "detail": "...", "errors": [{"field": "phone", "code": "invalid", "detail": "..."}]}

Views raise DRF's exceptions, the ones below, or let a service's Django ``ValidationError``
through; ``exception_handler`` turns each into one problem. The codes are part of the API.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

PROBLEM_CONTENT_TYPE = "application/problem+json"

# A service's ValidationError with one of these codes is a conflict with the record's state (409),
# not bad input (400): the same call may succeed once the state allows it.
CONFLICT_CODES = frozenset({"erased", "closed", "stale_version", "state_conflict"})

# What a problem means where every endpoint means the same; an endpoint names the rest.
STANDARD_PROBLEMS = {
    401: _("No token, or an unknown, ended or revoked one."),
    403: _("The client lacks the scope this call needs (``missing_scope``)."),
    429: _("Over the client's rate limit; Retry-After says when to try again."),
}


class ProblemErrorSerializer(serializers.Serializer):
    field = serializers.CharField(help_text=_("The offending field as a dotted path (addresses.0.city); empty for "
                                              "the whole body."))
    code = serializers.CharField(help_text=_("unknown_field, read_only, mandatory, invalid_type, invalid_phone, …"))
    detail = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """An error, as RFC 9457 problem details with a machine-readable code."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    code = serializers.CharField()
    detail = serializers.CharField()
    errors = ProblemErrorSerializer(many=True, required=False)


def problem_responses(*codes: int, described: dict | None = None, **on_code) -> dict:
    """The schema's problem responses for ``codes``: ``on_404=…`` first, then ``described``, then the standard text."""
    texts = {**STANDARD_PROBLEMS, **(described or {})}
    return {(code, PROBLEM_CONTENT_TYPE): OpenApiResponse(
        ProblemSerializer, description=str(on_code.get(f"on_{code}", texts.get(code)))) for code in codes}


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The request conflicts with the record's current state; nothing was changed.")
    default_code = "state_conflict"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request is too large.")
    default_code = "too_large"


class PreconditionRequired(exceptions.APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = _("This call needs an If-Match header with the record's version.")
    default_code = "precondition_required"


TITLES = {
    400: _("The request is not valid"),
    401: _("Not signed in"),
    403: _("Not allowed"),
    404: _("Not found"),
    405: _("Method not allowed"),
    406: _("Not acceptable"),
    409: _("Conflict"),
    412: _("Precondition failed"),
    413: _("Request too large"),
    415: _("Unsupported content type"),
    428: _("Precondition required"),
    429: _("Too many requests"),
}


def field_errors(detail, prefix: str = "") -> list[dict]:
    """DRF's nested error detail as a flat list of {field, code, detail}; ``field`` is a dotted path."""
    if isinstance(detail, dict):
        found = []
        for key, value in detail.items():
            name = "" if key in ("non_field_errors", "__all__") else str(key)
            found += field_errors(value, f"{prefix}.{name}" if prefix and name else prefix or name)
        return found
    if isinstance(detail, list):
        if all(isinstance(item, exceptions.ErrorDetail | str) for item in detail):
            return [{"field": prefix, "code": getattr(item, "code", "invalid"), "detail": str(item)} for item in detail]
        found = []
        for index, item in enumerate(detail):
            found += field_errors(item, f"{prefix}.{index}" if prefix else str(index))
        return found
    return [{"field": prefix, "code": getattr(detail, "code", "invalid"), "detail": str(detail)}]


def from_django(error: DjangoValidationError) -> exceptions.APIException:
    """A service's refusal as the API's: 409 for a state conflict, 400 per field otherwise."""
    codes = {item.code for item in error.error_list} if not hasattr(error, "error_dict") else {
        item.code for items in error.error_dict.values() for item in items}
    if codes & CONFLICT_CODES:
        code = sorted(codes & CONFLICT_CODES)[0]
        return Conflict(" ".join(error.messages), code=code)
    if hasattr(error, "error_dict"):
        return exceptions.ValidationError(
            {field: [exceptions.ErrorDetail(message, code=item.code or "invalid")
                     for item in items for message in item.messages]
             for field, items in error.error_dict.items()})
    return exceptions.ValidationError(
        [exceptions.ErrorDetail(message, code=item.code or "invalid") for item in error.error_list
         for message in item.messages])


def problem(status_code: int, code: str, detail: str, errors: list[dict] | None = None,
            headers: dict | None = None) -> Response:
    body = {
        "type": f"urn:shipex:problem:{code}",
        "title": str(TITLES.get(status_code, _("Error"))),
        "status": status_code,
        "code": code,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return Response(body, status=status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = from_django(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # not an API error: Django's 500 handling, logged as any other
    if isinstance(exc, exceptions.ValidationError):
        errors = field_errors(exc.detail)
        first = errors[0]["detail"] if errors else str(TITLES[400])
        return problem(400, "validation", first, errors, headers=_kept_headers(response))
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
    return problem(response.status_code, str(code), str(detail), headers=_kept_headers(response))


def _kept_headers(response: Response) -> dict:
    # WWW-Authenticate (401) and Retry-After (429) are set by DRF on its own response.
    return {name: response[name] for name in ("WWW-Authenticate", "Retry-After", "Allow") if response.has_header(name)}


def unknown_path(request, *args, **kwargs):
    """A path under /api/ that no endpoint serves (e.g. /api/v1/requests/-1)."""
    body = {"type": "urn:shipex:problem:not_found", "title": str(TITLES[404]), "status": 404, "code": "not_found",
            "detail": str(_("No endpoint serves this path."))}
    return JsonResponse(body, status=404, content_type=PROBLEM_CONTENT_TYPE)
