"""Plain-text documents (letters to subjects) rendered from templates."""

from django.template.loader import render_to_string


def render_text(template_name: str, context: dict) -> str:
    """A plain-text template (``{% autoescape off %}``, so the letter reads as typed), as plain ``str``.

    ``render_to_string`` marks its result safe, so an HTML page that shows the letter would pass a
    subject's ``<a href=…>`` through as live markup. The letter is text, not HTML: return it unmarked,
    and every page that shows it escapes it.
    """
    return str.__str__(render_to_string(template_name, context))
