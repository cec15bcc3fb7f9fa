"""The "who answers for your personal data" paragraph, for letters written in code rather than in a
template (the rights requests' responses): the same text as ``includes/responsible_person.txt``."""

from contextlib import nullcontext
from datetime import date, datetime

from django.utils import translation

from shipex_privacy.core.text import render_text


def responsible_person_text(*, at: date | datetime | None = None, language: str | None = None) -> str:
    """The paragraph in ``language`` (the active one when not given) naming who was responsible on
    ``at`` (today when not given) and how to reach them; empty when nobody is appointed."""
    with translation.override(language) if language else nullcontext():
        return render_text("includes/responsible_person.txt", {"at": at}).strip()
