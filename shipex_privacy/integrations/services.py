"""Audited writes about API clients and their tokens, and finding the client a token belongs to."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shipex_privacy.audit.events import Actor, AuditEvent
from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.models import System

from .models import ApiClient, ApiToken, ApiTokenUse, Scope, token_hash

TOKEN_PREFIX = "sxp_"  # noqa: S105 (a label that tells ShipEx tokens apart, not a secret)
# How often a token's "last used" is written: often enough to see a client is alive, rarely enough
# that the API's hot path does not write a row on every call.
USE_RECORDED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedToken:
    """A token as issued: ``secret`` is shown once and never stored."""

    token: ApiToken
    secret: str


def parse_scopes(text: str) -> list[str]:
    """``"subjects:write, events:write"`` → a sorted list of known scopes; an unknown one is refused by name."""
    scopes = sorted({part.strip() for part in text.split(",") if part.strip()})
    unknown = [scope for scope in scopes if scope not in Scope.values]
    if unknown:
        raise ValidationError(
            _("Unknown scopes: %(unknown)s. Known scopes: %(known)s.")
            % {"unknown": ", ".join(unknown), "known": ", ".join(Scope.values)}, code="unknown_scope")
    return scopes


def _issue(client: ApiClient, *, actor: Actor | None, reason: str) -> IssuedToken:
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(client=client, key_hash=token_hash(secret), prefix=secret[: len(TOKEN_PREFIX) + 6])
    record_save(instance=token, actor=actor, event=AuditEvent.API_TOKEN_ISSUED, reason=reason)
    return IssuedToken(token=token, secret=secret)


@transaction.atomic
def api_client_create(*, name: str, system: System, scopes: list[str], actor: Actor | None,
                      rate_limit: int = 600, note: str = "") -> IssuedToken:
    """Create a client for ``system`` with its first token."""
    scopes = parse_scopes(",".join(scopes))
    if ApiClient.objects.filter(name=name).exists():
        raise ValidationError(_("An API client named %(name)s already exists.") % {"name": name}, code="exists")
    client = ApiClient(name=name, system=system, scopes=scopes, rate_limit=rate_limit, note=note)
    record_save(instance=client, actor=actor, event=AuditEvent.API_CLIENT_CHANGED,
                reason=_("API client %(name)s created for %(system)s") % {"name": name, "system": system.code})
    return _issue(client, actor=actor, reason=_("First token of %(name)s") % {"name": name})


@transaction.atomic
def api_token_rotate(*, client: ApiClient, overlap: timedelta, actor: Actor | None) -> IssuedToken:
    """Issue a new token; the client's current tokens stay valid for ``overlap``, then stop."""
    client = ApiClient.objects.select_for_update().get(pk=client.pk)
    if not client.is_active:
        raise ValidationError(_("API client %(name)s is revoked.") % {"name": client.name}, code="revoked")
    if overlap < timedelta(0):
        raise ValidationError(_("The overlap cannot be negative."), code="invalid")
    ends_at = timezone.now() + overlap
    for token in client.tokens.valid().select_for_update():
        if token.ends_at is None or token.ends_at > ends_at:
            token.ends_at = ends_at
            until = f"{timezone.localtime(ends_at):%d.%m.%Y %H:%M}"
            record_save(instance=token, actor=actor, event=AuditEvent.API_TOKEN_ENDED,
                        reason=_("Rotated; valid until %(end)s") % {"end": until})
    return _issue(client, actor=actor, reason=_("Rotation of %(name)s") % {"name": client.name})


@transaction.atomic
def api_client_revoke(*, client: ApiClient, actor: Actor | None, reason: str) -> ApiClient:
    """Stop every token of the client at once."""
    client = ApiClient.objects.select_for_update().get(pk=client.pk)
    if not client.is_active:
        raise ValidationError(_("API client %(name)s is already revoked.") % {"name": client.name}, code="revoked")
    now = timezone.now()
    # The tokens first: once the client is revoked, valid() no longer finds them to give them an end.
    for token in client.tokens.valid(now).select_for_update():
        token.ends_at = now
        record_save(instance=token, actor=actor, event=AuditEvent.API_TOKEN_ENDED, reason=reason)
    client.revoked_at = now
    record_save(instance=client, actor=actor, event=AuditEvent.API_CLIENT_CHANGED, reason=reason)
    return client


def token_lookup(secret: str) -> ApiToken | None:
    """The valid token ``secret`` names, with its client; None for an unknown, ended or revoked one."""
    return ApiToken.objects.valid().select_related("client", "client__system").filter(
        key_hash=token_hash(secret)).first()


def token_record_use(token: ApiToken, ip: str | None) -> None:
    """Remember the token was used, at most once per ``USE_RECORDED_EVERY``; ApiTokenUse has no history.

    The moment last written is kept in the cache, so the calls in between cost no query at all
    (the API's reads must answer in a few milliseconds).
    """
    now = timezone.now()
    key = f"integrations:token-use:{token.pk}"
    last = cache.get(key)
    if last is not None and now - last < USE_RECORDED_EVERY:
        return
    ApiTokenUse.objects.update_or_create(token=token, defaults={"last_used_at": now, "last_ip": ip})
    cache.set(key, now, timeout=int(USE_RECORDED_EVERY.total_seconds()) * 60)
