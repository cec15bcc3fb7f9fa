"""Subjects from ShipEx's systems: PUT/PATCH /api/v1/subjects/{account_id}, GET …/consents.

The write is ``subjects.intake.subject_put``: the same validation as every other intake, history
naming the client (``api:<name>``), the caller's address and a reason. The version of a subject
(its ETag) is the newest history ids of the subject and of its addresses, the same version the
admin's page of the subject carries.
"""

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response

from shipex_privacy.audit.access import access_record
from shipex_privacy.audit.models import AccessEvent
from shipex_privacy.consents.in_force import subject_consents_now
from shipex_privacy.integrations.models import Scope
from shipex_privacy.subjects.intake import subject_as_payload, subject_put, subject_version
from shipex_privacy.subjects.models import DataSubject, normalise_account_id

from .base import ClientView
from .problems import PayloadTooLarge, problem_responses
from .subject_serializers import (
    SubjectConsentsSerializer,
    SubjectPatchSerializer,
    SubjectPutSerializer,
    SubjectSerializer,
)

# A subject with its addresses is a few kilobytes; a body far beyond it is refused before it is read.
MAX_BODY_BYTES = 256 * 1024


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = gettext_lazy("The precondition in If-Match does not hold; nothing was changed.")
    default_code = "precondition_failed"


PROBLEMS = {
    400: gettext_lazy("Bad input, per field (``errors``): an unknown or back-office-only field, a wrong type, a "
                      "value the catalogue refuses, or a malformed account id (``invalid_account_id``)."),
    404: gettext_lazy("No subject has this account id."),
    409: gettext_lazy("The subject is erased or anonymised (``erased``), or If-Match names an older version "
                      "(``stale_version``, the detail says what changed since); nothing was changed."),
    412: gettext_lazy("If-Match on a subject that does not exist yet (``precondition_failed``)."),
    413: gettext_lazy("The body is larger than 256 KiB."),
    415: gettext_lazy("The body is not application/json."),
}


def problems(*codes: int, **descriptions) -> dict:
    return problem_responses(*codes, described=PROBLEMS, **descriptions)


ACCOUNT_ID = OpenApiParameter(
    "account_id", str, OpenApiParameter.PATH, pattern=r"^SX[0-9]{7,10}$",
    description="The ShipEx account id: SX and 7 to 10 digits. Typed another way (spaces, dashes, lower case) "
                "it is read as its stored form; anything else is 400 for a write, 404 for a read.")
IF_MATCH = OpenApiParameter(
    "If-Match", str, OpenApiParameter.HEADER,
    description="The version the change is based on (the ETag of an earlier answer), or `*`. A stale one is "
                "refused with 409 `stale_version`; a PUT of a subject that does not exist yet answers 412.")
X_REASON = OpenApiParameter(
    "X-Reason", str, OpenApiParameter.HEADER,
    description="Why, for the history (at most 500 characters); by default “1.5.1: profile updated in <system>”.")
ETAG = OpenApiParameter("ETag", str, OpenApiParameter.HEADER, response=[200, 201],
                        description="The subject's version, quoted; send it back as If-Match.")


def _clean_header(value: str) -> str:
    return "".join(char for char in value if char.isprintable())


class SubjectView(ClientView):
    required_scopes = {"PUT": Scope.SUBJECTS_WRITE, "PATCH": Scope.SUBJECTS_WRITE}

    @extend_schema(
        operation_id="subjects_put",
        summary="Create or update a subject and its addresses",
        description=(
            "The body is the whole subject: the catalogue's mandatory fields are required and a field left out "
            "is cleared (registered_at excepted). Idempotent: the same body again changes nothing, writes no "
            "history and answers 200 with the same ETag. 201 when the subject is new. Every change is in the "
            "history with the client as the actor (`api:<client>`), the caller's address and the reason."),
        request=SubjectPutSerializer,
        parameters=[ACCOUNT_ID, IF_MATCH, X_REASON, ETAG],
        responses={
            200: OpenApiResponse(SubjectSerializer, description="Updated, or unchanged."),
            201: OpenApiResponse(SubjectSerializer, description="Created."),
            **problems(400, 401, 403, 409, 412, 413, 415, 429),
        },
        tags=["subjects"],
    )
    def put(self, request, account_id: str):
        return self._write(request, account_id, partial=False)

    @extend_schema(
        operation_id="subjects_patch",
        summary="Change some fields of a subject",
        description=("Only the fields sent are validated and changed; `addresses`, when sent, replaces the list. "
                     "A malformed account id is 400, an unknown subject 404."),
        request=SubjectPatchSerializer,
        parameters=[ACCOUNT_ID, IF_MATCH, X_REASON,
                    OpenApiParameter("ETag", str, OpenApiParameter.HEADER, response=[200],
                                     description="The subject's version, quoted; send it back as If-Match.")],
        responses={
            200: OpenApiResponse(SubjectSerializer, description="Updated, or unchanged."),
            **problems(400, 401, 403, 404, 409, 413, 415, 429),
        },
        tags=["subjects"],
    )
    def patch(self, request, account_id: str):
        return self._write(request, account_id, partial=True)

    def _write(self, request, account_id: str, *, partial: bool) -> Response:
        try:
            normalised = normalise_account_id(account_id)
        except ValidationError as error:
            raise ValidationError({"account_id": error.error_list}) from None
        length = request.META.get("CONTENT_LENGTH") or ""
        if length.isascii() and length.isdigit() and int(length) > MAX_BODY_BYTES:
            raise PayloadTooLarge(_("A subject's body may have at most %(size)s KiB.") % {
                "size": MAX_BODY_BYTES // 1024})
        payload = request.data
        system = request.auth.client.system
        reason = _clean_header(self.reason(_("1.5.1: profile updated in %(system)s") % {"system": system.shown.name}))
        if_match = _clean_header(request.headers.get("If-Match", "")).strip() or None  # an empty one is none
        try:
            subject, created = subject_put(account_id=normalised, payload=payload, partial=partial,
                                           if_match=if_match,
                                           actor=self.actor, reason=reason)
        except ValidationError as error:
            code = getattr(error, "code", None)
            if code == "not_found":
                raise exceptions.NotFound(error.messages[0]) from None
            if code == "precondition_failed":
                raise PreconditionFailed(error.messages[0]) from None
            raise
        version = subject_version(subject)
        body = {**subject_as_payload(subject), "status": subject.status, "version": version}
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
                        headers={"ETag": f'"{version}"'})


class SubjectConsentsView(ClientView):
    required_scopes = {"GET": Scope.CONSENTS_READ}

    @extend_schema(
        operation_id="subjects_consents",
        summary="What the subject allows now",
        description=(
            "For the app to check before it processes (1.3.2.5 advertising, cookies 1.6): the consents in force, "
            "the cookie categories allowed, and the policy version accepted. An erased or anonymised subject "
            "answers 200 with its status and nothing in force (also under the account id it had before "
            "erasure). A malformed account id names no subject: 404. The read is written to the access log, "
            "naming the client."),
        parameters=[ACCOUNT_ID],
        responses={
            200: OpenApiResponse(SubjectConsentsSerializer, description="In force now."),
            **problems(401, 403, 404, 429),
        },
        tags=["subjects"],
    )
    def get(self, request, account_id: str):
        try:
            normalised = normalise_account_id(account_id)
        except ValidationError:
            normalised = None
        now = timezone.now()
        found = subject_consents_now(normalised, now) if normalised else None
        if found is None:
            raise exceptions.NotFound(_("No subject has the account id %(id)s.") % {"id": str(account_id)[:40]})
        body = {
            "account_id": found.account_id,
            "status": found.status,
            "checked_at": now,
            "consents": [
                {"purpose": consent.purpose, "recipient_kind": consent.recipient_kind or None,
                 "granted_at": consent.granted_at, "expires_at": consent.expires_at}
                for consent in found.consents
            ],
            "cookies": found.cookies,
            "policy": {
                "accepted_version": found.accepted_version,
                "accepted_at": found.accepted_at,
                "version_in_force": found.version_in_force,
                "accepted_version_in_force": found.accepted_version_in_force,
            },
        }
        access_record(request=request, action=AccessEvent.Action.CONSENTS_READ,
                      obj=DataSubject(pk=found.subject_id), subject_id=found.subject_id,
                      detail=_("API: consents in force"))
        return Response(SubjectConsentsSerializer(body).data)
