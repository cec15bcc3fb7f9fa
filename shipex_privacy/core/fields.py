"""Model fields that store identifiers in one normalised form, whatever way staff typed them."""

from collections.abc import Callable

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import identifiers
from .names import NAME_KEY_MAX_LENGTH, name_search_key


class NormalisedFormField(forms.CharField):
    def __init__(self, *, normalise: Callable[[str], str], **kwargs):
        self.normalise = normalise
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        return self.normalise(value) if value else value


# Staff type spaces and dashes that the stored form drops ("+998 90 123 45 67" is 17 characters,
# its E.164 form 13): the form field takes this much, the column's own length holds what is stored.
TYPED_MAX_LENGTH = 64


# Normalised values by field class. Normalising (a phone number through phonenumbers) is the
# costliest step of a row in a batch and runs again on the stored form (validation, then the save
# and its history row): a pure function of the string, so each answer is kept, the stored form
# mapped to itself. Bounded: emptied when full.
_NORMALISED: dict[type, dict[str, str]] = {}
NORMALISED_KEPT = 50_000


class NormalisedCharField(models.CharField):
    """A CharField whose value is normalised before it is validated and stored."""

    normalise: Callable[[str], str] = staticmethod(lambda value: value)

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return value
        known = _NORMALISED.setdefault(type(self), {})
        if value not in known:
            normalised = self.normalise(value)  # a refusal raises and is not kept
            if len(known) >= NORMALISED_KEPT:
                known.clear()
            known[value] = known[normalised] = normalised
        return known[value]

    def formfield(self, **kwargs):
        return super().formfield(**{
            "form_class": NormalisedFormField, "normalise": self.normalise, "max_length": TYPED_MAX_LENGTH, **kwargs})


class PhoneField(NormalisedCharField):
    """A phone number in E.164 (+998901234567); Uzbek numbers may be typed without +998."""

    description = _("Phone number (E.164)")
    normalise = staticmethod(identifiers.normalise_phone)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 16)
        super().__init__(*args, **kwargs)


class PinflField(NormalisedCharField):
    """PINFL (JShShIR), the 14-digit personal identification number."""

    description = _("PINFL")
    normalise = staticmethod(identifiers.normalise_pinfl)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", identifiers.PINFL_LENGTH)
        super().__init__(*args, **kwargs)


class PassportField(NormalisedCharField):
    """An Uzbek passport number: AA1234567."""

    description = _("Passport number")
    normalise = staticmethod(identifiers.normalise_passport)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 9)
        super().__init__(*args, **kwargs)


class LowercaseEmailFormField(forms.EmailField):
    def to_python(self, value):
        return super().to_python(value).lower()


class LowercaseEmailField(models.EmailField):
    """An e-mail address stored lower-cased, so that a search in any case is one exact lookup."""

    def to_python(self, value):
        value = super().to_python(value)
        return value.strip().lower() if value else value

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": LowercaseEmailFormField, **kwargs})


class NameSearchKeyField(models.CharField):
    """The search key of another field of the same row (``core.names.name_search_key`` of it).

    Set on every write, however the row is written: ``save()``, ``bulk_create`` and the audited
    bulk path all ask each field's ``pre_save`` for its value, so the key can never lag behind its
    name, and the history row of a change carries both. Never edited by hand.
    """

    description = _("Search key of a name")

    def __init__(self, *args, source: str, **kwargs):
        self.source = source
        kwargs.setdefault("max_length", NAME_KEY_MAX_LENGTH)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        for option, value in (("max_length", NAME_KEY_MAX_LENGTH), ("editable", False), ("blank", True),
                              ("default", "")):
            if kwargs.get(option, value) == value:
                kwargs.pop(option, None)
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        key = name_search_key(getattr(model_instance, self.source) or "")
        setattr(model_instance, self.attname, key)
        return key


def derived_field_names(model) -> list[str]:
    """Fields that only repeat another field of the row in another form: history shows their source's change."""
    return [field.name for field in model._meta.concrete_fields if isinstance(field, NameSearchKeyField)]
