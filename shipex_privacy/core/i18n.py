"""Lazy strings that stay lazy when values are put into them.

``gettext_lazy("… %(days)s …") % {...}`` translates at once: ``%`` turns the lazy string into a
plain one, in whatever language is active at that moment. At import time that is the language of
whoever happened to load the module first, and every later reader sees it. ``interpolate_lazy``
keeps the message and its values apart until the string is rendered, in the reader's language.
"""

from collections.abc import Mapping

from django.conf import settings
from django.utils.functional import lazy
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


def _interpolate(message, values: Mapping | tuple) -> str:
    # str() here, at render time, is what translates the lazy message into the active language.
    return str(message) % values


interpolate_lazy = lazy(_interpolate, str)


def in_language(obj, field: str) -> str:
    """``obj.<field>`` in the active language: its ``<field>_uz`` or ``<field>_ru`` twin where that is filled.

    The field itself is the text as first written (English for seeded rows); it answers in English
    and wherever no translation has been entered yet.
    """
    language = (get_language() or settings.LANGUAGE_CODE)[:2]
    if language != "en":
        value = getattr(obj, f"{field}_{language}", "")
        if value:
            return value
    return getattr(obj, field)


class _ShownFields:
    __slots__ = ("_obj",)

    def __init__(self, obj):
        self._obj = obj

    def __getattr__(self, field: str) -> str:
        return in_language(self._obj, field)


class Shown:
    """``obj.shown.title``: ``in_language(obj, "title")``, also from a template (``{{ obj.shown.title }}``)."""

    def __get__(self, obj, owner=None):
        return self if obj is None else _ShownFields(obj)



def shown_column(model, field: str):
    """A changelist column showing ``field`` in the active language, headed and sorted like the field."""

    def column(obj) -> str:
        return in_language(obj, field)

    column.__name__ = f"shown_{field}"
    column.short_description = model._meta.get_field(field).verbose_name
    column.admin_order_field = field
    return column


def twin_fields(field_class, label_uz, label_ru, **options):
    """The ``<field>_uz`` and ``<field>_ru`` twins of a text first written in English, both optional:
    ``name_uz, name_ru = twin_fields(models.CharField, _("name (Uzbek)"), _("name (Russian)"), max_length=200)``.
    ``in_language`` reads them."""
    return (
        field_class(label_uz, blank=True, **options,
                    help_text=_("Shown in the Uzbek interface; when empty, the text written first is shown.")),
        field_class(label_ru, blank=True, **options,
                    help_text=_("Shown in the Russian interface; when empty, the text written first is shown.")),
    )
