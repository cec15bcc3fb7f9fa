"""Lazy strings that stay lazy when values are put into them.

``gettext_lazy("… %(days)s …") % {...}`` translates at once: ``%`` turns the lazy string into a
plain one, in whatever language is active at that moment. At import time that is the language of
whoever happened to load the module first, and every later reader sees it. ``interpolate_lazy``
keeps the message and its values apart until the string is rendered, in the reader's language.
"""

from collections.abc import Mapping

from django.utils.functional import lazy


def _interpolate(message, values: Mapping | tuple) -> str:
    # str() here, at render time, is what translates the lazy message into the active language.
    return str(message) % values


interpolate_lazy = lazy(_interpolate, str)
