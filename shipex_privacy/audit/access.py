"""The read-access log (clause 1.7.1): every read of personal data writes one AccessEvent.

Views call ``access_record`` once their answer is ready; later features (exports, access
packages) call it the same way, with ``AccessEvent.Action.EXPORT`` or ``ACCESS_PACKAGE``.
"""

import hashlib
import hmac
import os
import threading
from contextlib import suppress

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, models, router, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shipex_privacy.core import identifiers
from shipex_privacy.core.names import name_search_key

from .models import AccessEvent, RowDigest

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
    using = router.db_for_write(AccessEvent)
    if not (connections[using].vendor == "postgresql" and _insert_with_digest(event, using)):
        with transaction.atomic(using=using):
            event.save(using=using)  # its digest is written by its post_save, in the same transaction
    return event


# --- PostgreSQL: the row and its digest in one statement ---------------------------------------------
# A read answers fast only if logging it is cheap: one statement instead of INSERT, read-back,
# INSERT of the digest and the BEGIN/COMMIT around them. The MAC needs the row's id before the row
# is written, so each statement also draws from the table's sequence the id of the next event this
# process logs (the first one after a start draws its own). A reserved id is never reused: a
# statement that fails forgets it. The statement is atomic by itself: row and digest, or neither.

_reserved: dict[tuple, int] = {}
_reserved_lock = threading.Lock()


def _reservation_key(connection) -> tuple:
    # The process id too: a process forked after it logged a read (a pre-forking server or worker)
    # inherits the reservation, and two processes must never write one id (on the partitioned table
    # the primary key is (id, at), so the database would not refuse the second).
    settings_dict = connection.settings_dict
    return (os.getpid(), connection.alias, settings_dict["HOST"], settings_dict["PORT"], settings_dict["NAME"])


def _insert_with_digest(event: AccessEvent, using: str) -> bool:
    """INSERT ``event`` and its RowDigest in one statement; False where that cannot give the same digest."""
    from . import bulk

    connection = connections[using]
    key = _reservation_key(connection)
    with _reserved_lock:
        reserved = _reserved.pop(key, None)
    event.pk = reserved if reserved is not None else bulk._next_ids(AccessEvent, 1, using)[0]
    fields = AccessEvent._meta.concrete_fields
    values = bulk._values(fields, [event], connection, add=True)
    digests = bulk._digests_of_copied(AccessEvent, values, using)
    if digests is None:  # e.g. an IPv6 address, which PostgreSQL may spell otherwise: the plain path
        event.pk = None
        return False
    table_id, _row_id, layout_id, mac = digests[0]
    quote = connection.ops.quote_name
    digest_fields = [RowDigest._meta.get_field(name) for name in ("table", "row_id", "layout", "mac", "created_at")]
    # Safe: only quoted names from the models' own metadata; every value is a parameter.
    sql = (
        f"WITH new_row AS (INSERT INTO {quote(AccessEvent._meta.db_table)} "  # noqa: S608
        f"({', '.join(quote(f.column) for f in fields)}) VALUES ({', '.join(['%s'] * len(fields))}) "
        f"RETURNING {quote(AccessEvent._meta.pk.column)}), "
        f"new_digest AS (INSERT INTO {quote(RowDigest._meta.db_table)} "
        f"({', '.join(quote(f.column) for f in digest_fields)}) "
        f"SELECT %s, new_row.{quote(AccessEvent._meta.pk.column)}, %s, %s, %s FROM new_row) "
        f"SELECT nextval(%s::regclass)"
    )
    sequence = bulk._sequences[(using, AccessEvent._meta.db_table)]
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, [*values[0], table_id, layout_id, mac, timezone.now(), sequence])
            following = cursor.fetchone()[0]
    except BaseException:
        event.pk = None
        raise
    with _reserved_lock:
        _reserved[key] = following
    event._state.adding, event._state.db = False, using
    return True
