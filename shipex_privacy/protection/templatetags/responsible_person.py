"""``{% current_responsible_person as person %}``: who answers for personal data, for letters and pages.

A tag rather than a context variable, so that a letter template shows the block without its view
having to know about the protection register.
"""

from django import template

from shipex_privacy.core.identifiers import format_phone
from shipex_privacy.protection.models import ResponsiblePerson

register = template.Library()


@register.simple_tag
def current_responsible_person(at=None):
    """The appointment current on ``at`` (a date or a time; today when empty), or None."""
    return ResponsiblePerson.objects.current(at=at)


@register.filter
def phone_display(e164: str) -> str:
    return format_phone(e164) if e164 else ""
