"""POST /api/v1/events: a batch of app events (policy acceptances, consents, cookie choices, log-outs).

The body is a JSON array of event objects (``application/json``) or one event object per line
(``application/x-ndjson``). A line that is not JSON is refused on its own (code ``not_json``, with its
line number) and the other lines go on, as any other bad event does; a body that is no batch at all
(a JSON body that is not an array, or not JSON) is a 400. More than MAX_EVENTS events, or a body over
MAX_BODY_BYTES, is a 413 and nothing is read further; another content type a 415. What each event
becomes is ``integrations.events.apply_event_batch``'s answer.
"""

import json

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.parsers import BaseParser
from rest_framework.response import Response

from shipex_privacy.integrations.events import MAX_EVENTS, apply_event_batch, counts, decode_ndjson_line
from shipex_privacy.integrations.models import Scope

from .base import ClientView
from .event_serializers import EventBatchResultSerializer, EventSerializer
from .problems import PayloadTooLarge, problem_responses

# 1,000 events with full evidence stay well under this; a larger body is not read at all.
MAX_BODY_BYTES = 4 * 1024 * 1024


def _too_many() -> PayloadTooLarge:
    return PayloadTooLarge(_("A batch holds at most %(max)s events; split it.") % {"max": MAX_EVENTS},
                           code="too_many_events")


def _body(stream, parser_context) -> bytes:
    request = (parser_context or {}).get("request")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        raise PayloadTooLarge(_("The body is larger than %(max)s bytes; split the batch.") % {"max": MAX_BODY_BYTES})
    data = stream.read(MAX_BODY_BYTES + 1)
    if len(data) > MAX_BODY_BYTES:
        raise PayloadTooLarge(_("The body is larger than %(max)s bytes; split the batch.") % {"max": MAX_BODY_BYTES})
    return data


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON value")


class EventsJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        data = _body(stream, parser_context)
        try:
            events = json.loads(data.decode("utf-8"), parse_constant=_no_constant)
        except (ValueError, RecursionError) as error:
            raise exceptions.ParseError(_("The body is not JSON: %(error)s") % {
                "error": str(error)[:200].encode("utf-8", "backslashreplace").decode()}) from None
        if not isinstance(events, list):
            raise exceptions.ParseError(_("The body must be a JSON array of events."), code="not_a_batch")
        if len(events) > MAX_EVENTS:
            raise _too_many()
        return events


class NDJSONParser(BaseParser):
    media_type = "application/x-ndjson"

    def parse(self, stream, media_type=None, parser_context=None):
        lines = _body(stream, parser_context).split(b"\n")
        if sum(1 for line in lines if line.strip()) > MAX_EVENTS:
            raise _too_many()  # counted before any line is decoded
        events = [decode_ndjson_line(number, line) for number, line in enumerate(lines, start=1)]
        return [event for event in events if event is not None]


class EventsView(ClientView):
    required_scopes = {"POST": Scope.EVENTS_WRITE}
    parser_classes = [EventsJSONParser, NDJSONParser]

    @extend_schema(
        operation_id="events_create",
        summary="A batch of app events",
        description=(
            "Up to 1,000 events: a JSON array (`application/json`), or one event object per line "
            "(`application/x-ndjson`; a line that is not JSON is refused with its line number, the others go "
            "on). Each event is applied in full, acknowledged as a duplicate (its `event_id` was received "
            "before, or earlier in the batch), or refused with a code; one bad event does not refuse the "
            "batch. Events are applied in `occurred_at` order: a late older consent event lands in its place "
            "in the ledger without overriding a newer state.\n\n"
            "Refusal codes: `not_an_object`, `not_json`, `required`, `unknown_field`, `invalid`, `invalid_date`, "
            "`implausible_date`, `in_future`, `unknown_type`, `unknown_subject`, `erased`, `unknown_purpose`, "
            "`unknown_policy_version`, `policy_not_in_force`, `not_consent_based`, `unknown_catalogue_code`, "
            "`term_before_grant`, `channel_not_written` (special or biometric data by a channel that is neither "
            "written nor electronic), `no_change` (the ledger already says so at that moment), `already_accepted`, "
            "`strictly_necessary`. A refused event may be sent again, corrected."),
        request={"application/json": EventSerializer},
        responses={
            200: OpenApiResponse(EventBatchResultSerializer, description="What became of each event."),
            **problem_responses(
                400, 401, 403, 413, 415, 429,
                on_400="The body is not a batch: not JSON, or not an array.",
                on_403="The client lacks the scope events:write.",
                on_413="More than 1,000 events, or a body over 4 MB.",
                on_415="The body is neither application/json nor application/x-ndjson."),
        },
    )
    def post(self, request):
        self._refuse_other_content_types(request)
        events = request.data
        if not isinstance(events, list):  # an empty body: DRF parses nothing
            raise exceptions.ParseError(_("The body must be a batch of events."), code="not_a_batch")
        outcomes = apply_event_batch(client=request.auth.client, events=events, actor=self.actor)
        return Response({
            "results": [{"index": outcome.index, "event_id": outcome.event_id, "status": outcome.status,
                         "code": outcome.code, "detail": outcome.detail, "field": outcome.field}
                        for outcome in outcomes],
            **counts(outcomes),
        })

    def _refuse_other_content_types(self, request) -> None:
        # DRF answers 415 only when it has a body to parse; an empty body of another type is a 415 too.
        # An empty body without a content type is no batch (400, below).
        if request.content_type and self.request.negotiator.select_parser(request, self.get_parsers()) is None:
            raise exceptions.UnsupportedMediaType(request.content_type)
        if not request.content_type and request.META.get("CONTENT_LENGTH") not in (None, "", "0"):
            raise exceptions.UnsupportedMediaType("")
