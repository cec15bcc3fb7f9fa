"""The shapes of the subjects endpoints, for the OpenAPI schema only.

They hold no rule: what a subject payload may be is ``subjects.intake.subject_from_payload``'s to
decide (the catalogue's mandatory fields, the admin's normalisers). The views never validate with
these; they describe what the views take and give.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from shipex_privacy.consents.models import RecipientKind
from shipex_privacy.subjects.intake import MAX_ADDRESSES
from shipex_privacy.subjects.models import Address, DataSubject


class AddressSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Address.Kind.choices, required=False, help_text=_("home by default."))
    region = serializers.CharField(max_length=100)
    city = serializers.CharField(max_length=100)
    street = serializers.CharField(max_length=200)
    landmark = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True)
    postal_code = serializers.CharField(max_length=6, required=False, allow_blank=True, allow_null=True)


class SubjectFieldsSerializer(serializers.Serializer):
    """A subject as a ShipEx system sends it. Unknown fields, and fields only the back office sets
    (``status``, ids, erasure state), are refused by name."""

    account_id = serializers.CharField(
        required=False, max_length=40,
        help_text=_("May repeat the account id of the address, typed any way; no other id."))
    full_name = serializers.CharField(max_length=200)
    phone = serializers.CharField(max_length=64, help_text=_("Any format; stored in E.164 (+998901234567)."))
    email = serializers.CharField(max_length=254, required=False, allow_blank=True, allow_null=True,
                                  help_text=_("Stored lower-cased."))
    pinfl = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True,
                                  help_text=_("14 digits; a check digit that does not match needs keep_pinfl."))
    passport = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True,
                                     help_text=_("Two Latin letters and seven digits (AA1234567)."))
    birth_date = serializers.DateField(required=False, allow_null=True,
                                       help_text=_("Between 1900-01-01 and today."))
    preferred_language = serializers.ChoiceField(choices=DataSubject.Language.choices, required=False,
                                                 allow_null=True)
    registered_at = serializers.DateTimeField(
        required=False, help_text=_("With its UTC offset; when left out, the time of creation (a PUT keeps it)."))
    addresses = AddressSerializer(
        many=True, required=False, max_length=MAX_ADDRESSES,
        help_text=_("The subject's addresses: the list replaces them. An address sent as stored keeps its row; "
                    "a changed one updates a row of the same kind; the others are added; rows left out are "
                    "deleted (with history)."))
    keep_pinfl = serializers.BooleanField(
        required=False, help_text=_("Keep a PINFL whose check digit does not match; say why in X-Reason."))


class SubjectPutSerializer(SubjectFieldsSerializer):
    """PUT: the whole subject. The catalogue's mandatory fields are required (today full_name and phone;
    account_id is the address's); a field left out is cleared."""


class SubjectPatchSerializer(SubjectFieldsSerializer):
    """PATCH: only the fields sent are validated and changed (``addresses``, when sent, replaces the list)."""

    full_name = serializers.CharField(max_length=200, required=False)
    phone = serializers.CharField(max_length=64, required=False)


class SubjectSerializer(serializers.Serializer):
    """The subject as stored (normalised), with its state and version."""

    account_id = serializers.CharField()
    full_name = serializers.CharField(allow_blank=True)
    phone = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)
    pinfl = serializers.CharField(allow_blank=True)
    passport = serializers.CharField(allow_blank=True)
    birth_date = serializers.DateField(allow_null=True)
    preferred_language = serializers.ChoiceField(choices=DataSubject.Language.choices)
    registered_at = serializers.DateTimeField()
    addresses = AddressSerializer(many=True)
    status = serializers.ChoiceField(choices=DataSubject.Status.choices)
    version = serializers.CharField(help_text=_("The version, as in the ETag header (without its quotes)."))


class ConsentInForceSerializer(serializers.Serializer):
    purpose = serializers.CharField(help_text=_("The purpose's clause, e.g. 1.3.2.5 (advertising)."))
    recipient_kind = serializers.ChoiceField(
        choices=RecipientKind.choices, allow_null=True,
        help_text=_("For consent to disclosure to third parties (1.4.3.1): the kind of recipient; else null."))
    granted_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)


class CookieChoicesSerializer(serializers.Serializer):
    strictly_necessary = serializers.BooleanField(help_text=_("Always true: they need no consent."))
    functional = serializers.BooleanField()
    analytics = serializers.BooleanField()
    advertising = serializers.BooleanField()


class PolicySerializer(serializers.Serializer):
    accepted_version = serializers.CharField(allow_null=True, help_text=_("The latest version the subject "
                                                                          "accepted; null for none."))
    accepted_at = serializers.DateTimeField(allow_null=True)
    version_in_force = serializers.CharField(allow_null=True, help_text=_("The published version in force today."))
    accepted_version_in_force = serializers.BooleanField(
        help_text=_("Whether the subject accepted the version in force."))


class SubjectConsentsSerializer(serializers.Serializer):
    account_id = serializers.CharField()
    status = serializers.ChoiceField(choices=DataSubject.Status.choices)
    checked_at = serializers.DateTimeField(help_text=_("The moment the answer is true for."))
    consents = ConsentInForceSerializer(many=True, help_text=_("Consents in force now; an erased subject has none."))
    cookies = CookieChoicesSerializer(help_text=_("Cookie categories allowed now (1.6.2): the latest choice wins, "
                                                  "none made is not allowed."))
    policy = PolicySerializer()
