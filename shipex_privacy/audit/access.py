"""The read-access log (clause 1.7.1): every read of personal data writes one AccessEvent.

Views call ``access_record`` once their answer is ready; later features (exports, access
packages) call it the same way, with ``AccessEvent.Action.EXPORT`` or ``ACCESS_PACKAGE``.
"""

import hashlib
import hmac
from contextlib import suppress

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from shipex_privacy.core import identifiers
from shipex_privacy.core.names import name_search_key

from .models import AccessEvent

USER_AGENT_LENGTH = AccessEvent._meta.get_field("user_agent").max_length


def normalised_search_term(term: str) -> str:
    """The one form a term is hashed in, so that "90 123-45-67" and "+998901234567" hash alike."""
    term = " ".join(term.split())
    for kind, normalise in (
        ("phone", identifiers.normalise_phone),
        ("pinfl", identifiers.normalise_pinfl),
        ("email", identifiers.normalise_email),
    ):
        with suppress(ValidationError):
            return f"{kind}:{normalise(term)}"
    if not any(char.isdigit() for char in term) and any(char.isalpha() for char in term):
        # A name, in the form it is searched in: "Oʻgʻiloy" and "ogiloy" are the same search.
        return f"name:{name_search_key(term)}"
    return f"text:{term.upper()}"


def search_term_hash(term: str) -> str:
    """HMAC-SHA256 of the normalised term, keyed from SECRET_KEY: the clear term is never stored.

    An auditor who has a number in hand can hash it the same way and find who searched for it;
    the log alone does not give the number away.
    """
    key = hmac.new(settings.SECRET_KEY.encode(), b"shipex-access-log/search-term", hashlib.sha256).digest()
    return hmac.new(key, normalised_search_term(term).encode(), hashlib.sha256).hexdigest()


def client_address(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


@transaction.atomic
def access_record(
    *,
    request: HttpRequest,
    action: AccessEvent.Action | str,
    obj: models.Model | None = None,
    subject_id: int | None = None,
    detail: str = "",
    field: str = "",
    reason: str = "",
    search_term: str = "",
) -> AccessEvent:
    """Log one read by ``request.user``; its digest is written in the same transaction.

    ``obj`` is what was read (its content type label and id are kept, never its content);
    ``subject_id`` names the data subject it belongs to. A reveal needs ``reason``; a search
    passes ``search_term``, which is stored only as a keyed hash.
    """
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    event = AccessEvent(
        user_id=user.pk if signed_in else None,
        username=user.get_username() if signed_in else "",
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        subject_id=subject_id,
        detail=detail,
        field=field,
        reason=reason.strip(),
        search_term_hash=search_term_hash(search_term) if search_term.strip() else "",
        ip=client_address(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_LENGTH],
    )
    if event.action == AccessEvent.Action.IDENTIFIER_REVEAL and not event.reason:
        raise ValidationError({"reason": _("Revealing a masked value needs a stated reason.")}, code="required")
    # The database holds the same rule (access_reveal_has_reason); checked above without a query.
    event.full_clean(validate_constraints=False)
    event.save()
    return event
