"""What POST/GET /api/v1/requests take and give: what the app shows the user, never the back office's
working notes, internal fields or the names of staff."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from shipex_privacy.rights_requests.models import SubjectRequest
from shipex_privacy.subjects.models import DataSubject, normalise_account_id

# An idempotency key: printable ASCII without spaces (a UUID, a ticket number), at most 100 characters.
REFERENCE_PATTERN = r"^[!-~]{1,100}$"
DETAILS_MAX_LENGTH = 5000


class RequestCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=SubjectRequest.Kind.choices, help_text=_("What the user asks for."))
    account_id = serializers.CharField(
        max_length=40, help_text=_("The user's ShipEx account id (SX and 7 to 10 digits), typed any way."))
    language = serializers.ChoiceField(
        choices=DataSubject.Language.choices, required=False,
        help_text=_("The language of the answer; the user's preferred language when left out."))
    details = serializers.CharField(
        max_length=DETAILS_MAX_LENGTH, required=False, allow_blank=True, trim_whitespace=True,
        help_text=_("What the user wrote, if anything."))
    client_reference = serializers.RegexField(
        REFERENCE_PATTERN, max_length=100, required=False,
        help_text=_("The calling system's own id for this request (or send it as the Idempotency-Key header): "
                    "a retried call with the same reference returns the request it made, never a second one."),
        error_messages={"invalid": _("A reference is 1 to 100 printable characters without spaces.")})

    def to_internal_value(self, data):
        # An unknown field is refused by name: a typo must not pass as a request without it.
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {str(name)[:100]: [serializers.ErrorDetail(_("Unknown field."), code="unknown_field")]
                     for name in unknown})
        return super().to_internal_value(data)

    def validate_account_id(self, value: str) -> str:
        try:
            return normalise_account_id(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages, code=error.code) from None


class RequestStateSerializer(serializers.Serializer):
    """A request as the app shows it to the user."""

    id = serializers.IntegerField(help_text=_("The request number, as the back office and its letters name it."))
    kind = serializers.ChoiceField(choices=SubjectRequest.Kind.choices)
    status = serializers.ChoiceField(choices=SubjectRequest.Status.choices)
    language = serializers.CharField(source="response_language", help_text=_("The language of the answer."))
    received_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField(help_text=_("The end of the day the answer is due (Tashkent time)."))
    due_date = serializers.SerializerMethodField(help_text=_("The day the answer is due, in Tashkent."))
    closed_at = serializers.DateTimeField(allow_null=True)
    overdue = serializers.BooleanField(source="is_overdue", help_text=_("Open and past its due date."))
    paused = serializers.SerializerMethodField(
        help_text=_("The deadline is paused (e.g. by a legal hold); it moves on when the request resumes."))
    identity_verified = serializers.BooleanField()
    duplicate_of = serializers.IntegerField(
        source="duplicate_of_id", allow_null=True,
        help_text=_("An earlier open request of the same kind for this user, which this one repeats."))

    @extend_schema_field(OpenApiTypes.DATE)
    def get_due_date(self, request: SubjectRequest) -> str:
        return timezone.localdate(request.due_at).isoformat()

    def get_paused(self, request: SubjectRequest) -> bool:
        return request.paused_at is not None


class RequestCreatedSerializer(RequestStateSerializer):
    client_reference = serializers.CharField(allow_null=True, help_text=_("The reference the call gave, if any."))
    replayed = serializers.BooleanField(
        help_text=_("True when the reference was seen before: this is the request the first call made."))
