"""What POST /api/v1/events takes and gives, for the OpenAPI schema.

The events are read by ``integrations.events`` (strictly, with a refusal code per event, so that one
bad event does not refuse the batch); these serializers describe the same fields for the schema,
and a test holds the two to the same field names (tests/api/test_events.py).
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

from shipex_privacy.consents.models import Channel, CookieCategory, RecipientKind
from shipex_privacy.integrations.events import APPLIED, COOKIE_CHOICES, DUPLICATE, REFUSED, EventType

MOMENT_HELP = _("ISO 8601 with its offset, e.g. 2026-11-25T14:30:00+05:00; from 2000, not in the future.")


# The recipient kind of a consent event, or "" for none: one choice set, one name in the schema.
RECIPIENT_KIND_OR_NONE = ["", *RecipientKind.values]

class EvidenceSerializer(serializers.Serializer):
    ip_address = serializers.IPAddressField(required=False, help_text=_("The user's address, if the app knows it."))
    user_agent = serializers.CharField(required=False, max_length=400, allow_blank=True)
    reference = serializers.CharField(
        required=False, max_length=200, allow_blank=True,
        help_text=_("The app's own evidence id; the event id when left out."))


class EventBaseSerializer(serializers.Serializer):
    event_id = serializers.RegexField(
        r"^[!-~]{1,100}$", max_length=100,
        help_text=_("The app's id for this event, 1 to 100 printable characters without spaces: an event id "
                    "already received from this client is acknowledged as a duplicate, never applied twice."))
    occurred_at = serializers.DateTimeField(help_text=MOMENT_HELP)
    reason = serializers.CharField(
        required=False, max_length=500, allow_blank=True,
        help_text=_("Why, for the history; a default naming the clause and the event when left out."))


class SubjectEventSerializer(EventBaseSerializer):
    account_id = serializers.CharField(max_length=40, help_text=_("The user's ShipEx account id, e.g. SX1002345."))


class PolicyAcceptedSerializer(SubjectEventSerializer):
    type = serializers.ChoiceField(choices=[EventType.POLICY_ACCEPTED])
    version = serializers.CharField(max_length=20, help_text=_("The policy version accepted, e.g. 2026.2 (1.1)."))
    channel = serializers.ChoiceField(choices=Channel.values)
    evidence = EvidenceSerializer(required=False)


class ConsentGrantedSerializer(SubjectEventSerializer):
    type = serializers.ChoiceField(choices=[EventType.CONSENT_GRANTED])
    purpose = serializers.CharField(max_length=20, help_text=_("The purpose's clause, e.g. 1.3.2.5."))
    recipient_kind = serializers.ChoiceField(
        choices=RECIPIENT_KIND_OR_NONE, required=False,
        help_text=_("For consent to disclosure to third parties (1.4.3.1) only."))
    policy_version = serializers.CharField(
        max_length=20, help_text=_("The policy version the consent text was part of."))
    channel = serializers.ChoiceField(
        choices=Channel.values,
        help_text=_("How the subject consented. Consent covering special or biometric data must be written or "
                    "electronic: call_centre is refused for it (code channel_not_written)."))
    term_ends_on = serializers.DateField(
        required=False,
        help_text=_("The term of the consent: its last day in force (ISO 8601 date). The consent lapses by itself "
                    "at 00:00 Tashkent time on the day after. Leave out, with expires_at, for a consent until "
                    "withdrawn."))
    expires_at = serializers.DateTimeField(
        required=False,
        help_text=_("Or the term as a moment: the consent is in force until then and lapses then. Not with "
                    "term_ends_on."))
    covered_data = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=200,
        help_text=_("Catalogue codes of the data the consent covers, e.g. contact.email; left out, the data the "
                    "catalogue lists for the purpose."))
    allows_third_party_transfer = serializers.BooleanField(
        required=False, default=False, help_text=_("Whether the consent allows transfer to third parties."))
    allows_cross_border_transfer = serializers.BooleanField(
        required=False, default=False,
        help_text=_("Whether the consent allows transfer across the border of Uzbekistan."))
    allows_publication = serializers.BooleanField(
        required=False, default=False, help_text=_("Whether the consent allows making the data public."))
    evidence = EvidenceSerializer(required=False)


class ConsentWithdrawnSerializer(SubjectEventSerializer):
    type = serializers.ChoiceField(choices=[EventType.CONSENT_WITHDRAWN])
    purpose = serializers.CharField(max_length=20, help_text=_("The purpose's clause, e.g. 1.3.2.5."))
    recipient_kind = serializers.ChoiceField(choices=RECIPIENT_KIND_OR_NONE, required=False)
    channel = serializers.ChoiceField(choices=Channel.values)
    evidence = EvidenceSerializer(required=False)


class CookieChoiceSerializer(EventBaseSerializer):
    type = serializers.ChoiceField(choices=[EventType.COOKIE_CHOICE])
    account_id = serializers.CharField(
        max_length=40, required=False, help_text=_("The user's account id; or visitor_id for a visitor without one."))
    visitor_id = serializers.CharField(max_length=64, required=False, help_text=_("The visitor cookie's id."))
    category = serializers.ChoiceField(
        choices=[value for value in CookieCategory.values if value != CookieCategory.STRICTLY_NECESSARY])
    choice = serializers.ChoiceField(choices=list(COOKIE_CHOICES))
    channel = serializers.ChoiceField(choices=Channel.values)
    evidence = EvidenceSerializer(required=False)


class SubjectLoggedOutSerializer(SubjectEventSerializer):
    type = serializers.ChoiceField(choices=[EventType.SUBJECT_LOGGED_OUT])
    channel = serializers.ChoiceField(choices=Channel.values, required=False, help_text=_("app when left out."))
    evidence = EvidenceSerializer(required=False)


EVENT_SERIALIZERS = {
    EventType.POLICY_ACCEPTED: PolicyAcceptedSerializer,
    EventType.CONSENT_GRANTED: ConsentGrantedSerializer,
    EventType.CONSENT_WITHDRAWN: ConsentWithdrawnSerializer,
    EventType.COOKIE_CHOICE: CookieChoiceSerializer,
    EventType.SUBJECT_LOGGED_OUT: SubjectLoggedOutSerializer,
}

EventSerializer = PolymorphicProxySerializer(
    component_name="Event", serializers=list(EVENT_SERIALIZERS.values()), resource_type_field_name="type",
    many=True)


class EventOutcomeSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text=_("The event's place in the batch, from 0."))
    event_id = serializers.CharField(allow_null=True, help_text=_("Null when the event had no readable id."))
    status = serializers.ChoiceField(choices=[APPLIED, DUPLICATE, REFUSED])
    code = serializers.CharField(
        allow_null=True, help_text=_("Why it was refused (see the list above); null otherwise."))
    detail = serializers.CharField(allow_blank=True)
    field = serializers.CharField(allow_null=True, help_text=_("The offending field, dotted inside evidence."))


class EventBatchResultSerializer(serializers.Serializer):
    results = EventOutcomeSerializer(many=True, help_text=_("One per event, in the batch's order."))
    applied = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    refused = serializers.IntegerField()
