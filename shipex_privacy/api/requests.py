"""Data-subject requests made in a ShipEx app: POST /api/v1/requests, GET /api/v1/requests/{id}.

The app's signed-in session vouches for the user's identity, so a request arrives verified
(``rights_requests.services.request_receive_in_app``). Which client sent a request is kept beside it
(``integrations.ReceivedRequest``): the clients of that system alone read it back, and the client's
reference (``Idempotency-Key`` or ``client_reference``) turns a retried call into the first one's answer.
"""

import re

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response

from shipex_privacy.audit.access import access_record
from shipex_privacy.audit.models import AccessEvent
from shipex_privacy.audit.versions import VersionPart, format_version
from shipex_privacy.integrations.models import ApiClient, ReceivedRequest, Scope
from shipex_privacy.rights_requests.models import SubjectRequest
from shipex_privacy.rights_requests.services import request_receive_in_app
from shipex_privacy.subjects.models import DataSubject

from .base import ClientView
from .problems import Conflict, problem_responses
from .request_serializers import (
    REFERENCE_PATTERN,
    RequestCreatedSerializer,
    RequestCreateSerializer,
    RequestStateSerializer,
)

REFERENCE_HEADER = "Idempotency-Key"
LARGEST_ID = 2**63 - 1  # a bigger number in the path names no request (and would overflow the database)


# What a problem means for the requests endpoints (401, 403 and 429 mean the same everywhere).
PROBLEMS = {
    400: gettext_lazy("Bad input, per field (``errors``)."),
    404: gettext_lazy("Not found."),
    409: gettext_lazy("Conflicts with the record's state."),
    415: gettext_lazy("The body is not application/json."),
}


def _problems(*codes: int, **descriptions) -> dict:
    return problem_responses(*codes, described=PROBLEMS, **descriptions)


def _version(subject_request: SubjectRequest) -> str:
    return f'"{format_version([VersionPart(SubjectRequest, {"id": subject_request.pk})])}"'


def _headers(subject_request: SubjectRequest) -> dict:
    return {"ETag": _version(subject_request), "Location": reverse("api:request", args=[subject_request.pk])}


def _visible(client: ApiClient):
    """The requests ``client`` may read: those that came through any client of its own system (a
    replacement client of the same system still sees its predecessor's)."""
    return SubjectRequest.objects.filter(api_receipt__client__system_id=client.system_id)


class RequestListView(ClientView):
    required_scopes = {"POST": Scope.REQUESTS_WRITE}

    @extend_schema(
        operation_id="requests_create",
        summary="A data-subject request the user made in the app",
        description=(
            "Identity counts as verified by the app's signed-in session (identity method `app_login`). "
            "The answer gives the request number and its due date. A request of a kind the user already has "
            "open is received and flagged: `duplicate_of` names the earlier one. Send a reference "
            "(`Idempotency-Key` header or `client_reference`) so that a retried call returns the first "
            "call's request (200, `replayed: true`) instead of making a second."),
        request=RequestCreateSerializer,
        parameters=[
            OpenApiParameter(REFERENCE_HEADER, str, OpenApiParameter.HEADER, pattern=REFERENCE_PATTERN,
                             description="The calling system's own id for this request (as client_reference)."),
            OpenApiParameter("X-Reason", str, OpenApiParameter.HEADER,
                             description="Why the request is sent, for the history; a default names the clause."),
            OpenApiParameter("ETag", str, OpenApiParameter.HEADER, response=[200, 201],
                             description="The request's version."),
            OpenApiParameter("Location", str, OpenApiParameter.HEADER, response=[200, 201],
                             description="Where to read the request's state."),
        ],
        responses={
            201: OpenApiResponse(RequestCreatedSerializer, description="Received."),
            200: OpenApiResponse(RequestCreatedSerializer, description="A retry: the request the first call made."),
            **_problems(400, 401, 403, 404, 409, 415, 429,
                        on_404=_("No subject has this account id (code ``unknown_subject``)."),
                        on_409=_("The subject is erased (code ``erased``), or the reference was used for "
                                 "another request (code ``reference_reused``).")),
        },
        tags=["requests"],
    )
    def post(self, request):
        serializer = RequestCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        reference = self._reference(data)
        client = request.auth.client
        if reference and (receipt := self._receipt(client, reference)):
            return self._replay(receipt, data)
        subject = DataSubject.objects.with_account_id(data["account_id"]).first()
        if subject is None:
            raise exceptions.NotFound(_("No subject has the account id %(account)s; send the subject first.") % {
                "account": data["account_id"]}, code="unknown_subject")
        kind = SubjectRequest.Kind(data["kind"])
        try:
            with transaction.atomic():
                subject_request = request_receive_in_app(
                    kind=kind, subject=subject, actor=self.actor, language=data.get("language", ""),
                    details=data.get("details", ""),
                    reason=self.reason(_("Request made in the ShipEx app: %(kind)s") % {"kind": kind.label}))
                ReceivedRequest.objects.create(client=client, request=subject_request, reference=reference)
        except IntegrityError:
            # The same reference sent twice at once: the other call's request was committed first.
            receipt = self._receipt(client, reference) if reference else None
            if receipt is None:
                raise
            return self._replay(receipt, data)
        return self._answer(subject_request, reference, replayed=False)

    def _reference(self, data) -> str:
        header = self.request.headers.get(REFERENCE_HEADER)
        given = data.get("client_reference", "")
        if header is None:
            return given
        if not re.fullmatch(REFERENCE_PATTERN, header):
            raise exceptions.ValidationError({REFERENCE_HEADER: [exceptions.ErrorDetail(
                _("A reference is 1 to 100 printable characters without spaces."), code="invalid")]})
        if given and given != header:
            raise exceptions.ValidationError({"client_reference": [exceptions.ErrorDetail(
                _("It differs from the Idempotency-Key header; send one reference."), code="reference_mismatch")]})
        return header

    @staticmethod
    def _receipt(client: ApiClient, reference: str) -> ReceivedRequest | None:
        return ReceivedRequest.objects.select_related("request__subject").filter(
            client=client, reference=reference).first()

    def _replay(self, receipt: ReceivedRequest, data) -> Response:
        subject_request = receipt.request
        if subject_request.kind != data["kind"] or subject_request.subject.account_id != data["account_id"]:
            raise Conflict(_("The reference %(reference)s was already used for request #%(id)s, of another kind "
                             "or another subject; send a new reference.") % {
                "reference": receipt.reference, "id": subject_request.pk}, code="reference_reused")
        return self._answer(subject_request, receipt.reference, replayed=True)

    def _answer(self, subject_request: SubjectRequest, reference: str, *, replayed: bool) -> Response:
        body = {**RequestStateSerializer(subject_request).data, "client_reference": reference or None,
                "replayed": replayed}
        return Response(body, status=status.HTTP_200_OK if replayed else status.HTTP_201_CREATED,
                        headers=_headers(subject_request))


class RequestDetailView(ClientView):
    required_scopes = {"GET": Scope.REQUESTS_READ}

    @extend_schema(
        operation_id="requests_retrieve",
        summary="The state of a request, for the app to show the user",
        description=("Only requests that came through a client of the caller's own system; any other "
                     "number is 404. The read is written to the access log, naming the client."),
        parameters=[
            OpenApiParameter("id", {"type": "integer", "minimum": 0}, OpenApiParameter.PATH,
                             description="The request number the POST answered."),
            OpenApiParameter("ETag", str, OpenApiParameter.HEADER, response=[200],
                             description="The request's version."),
        ],
        responses={
            200: OpenApiResponse(RequestStateSerializer, description="The request's state."),
            **_problems(401, 403, 404, 429, on_404=_("No such request came from this system.")),
        },
        tags=["requests"],
    )
    def get(self, request, pk: int):
        subject_request = _visible(request.auth.client).filter(pk=pk).first() if pk <= LARGEST_ID else None
        if subject_request is None:
            raise exceptions.NotFound(_("No request #%(id)s came from this system.") % {"id": pk})
        access_record(request=request, action=AccessEvent.Action.SUBJECT_VIEW, obj=subject_request,
                      subject_id=subject_request.subject_id, detail=_("API: state of request #%(id)s") % {
                          "id": subject_request.pk})
        return Response(RequestStateSerializer(subject_request).data, headers={"ETag": _version(subject_request)})
