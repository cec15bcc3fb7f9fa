"""The ShipEx systems that call the API: their clients, tokens and the events they sent.

A token is shown once, when it is issued, and kept only as its SHA-256 hash: a copy of the
database gives no one a working token. A token is 32 random bytes, so a plain (unkeyed) hash is
enough — there is nothing to guess that a key would protect.
"""

import hashlib
from datetime import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shipex_privacy.audit.history import audited_history
from shipex_privacy.catalogue.models import System


class Scope(models.TextChoices):
    SUBJECTS_WRITE = "subjects:write", _("Create and update subjects")
    EVENTS_WRITE = "events:write", _("Send events (acceptances, consents, cookie choices, log-outs)")
    REQUESTS_WRITE = "requests:write", _("Send data-subject requests")
    REQUESTS_READ = "requests:read", _("Read the state of requests")
    CONSENTS_READ = "consents:read", _("Read the consents in force")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiClientQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiClient(models.Model):
    """One ShipEx system's access to the API: what it may do and how often."""

    name = models.SlugField(
        _("name"), max_length=50, unique=True,
        help_text=_("History names the client's writes api:<name>, e.g. api:mobile-app."),
    )
    system = models.ForeignKey(System, verbose_name=_("system"), on_delete=models.PROTECT, related_name="api_clients")
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    rate_limit = models.PositiveIntegerField(
        _("requests per minute"), default=600, help_text=_("Calls beyond it are answered 429 with Retry-After.")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    objects = ApiClientQuerySet.as_manager()
    history = audited_history()

    class Meta:
        ordering = ["name"]
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")
        constraints = [
            models.CheckConstraint(condition=Q(rate_limit__gte=1), name="api_client_rate_limit_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class ApiTokenQuerySet(models.QuerySet):
    def valid(self, at: datetime | None = None):
        """Tokens that open the API now: not past their end, of a client not revoked."""
        at = at or timezone.now()
        return self.filter(client__revoked_at__isnull=True).filter(Q(ends_at__isnull=True) | Q(ends_at__gt=at))


class ApiToken(models.Model):
    """One token of a client, kept as its hash. Rotation gives the old one an end in the future."""

    client = models.ForeignKey(ApiClient, verbose_name=_("API client"), on_delete=models.PROTECT, related_name="tokens")
    key_hash = models.CharField(_("token hash (SHA-256)"), max_length=64, unique=True)
    prefix = models.CharField(
        _("token prefix"), max_length=12, help_text=_("The first characters, to tell tokens apart; not secret.")
    )
    created_at = models.DateTimeField(_("issued at"), default=timezone.now)
    ends_at = models.DateTimeField(
        _("valid until"), null=True, blank=True, help_text=_("Empty: valid until rotated or revoked.")
    )

    objects = ApiTokenQuerySet.as_manager()
    history = audited_history()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.client} · {self.prefix}…"

    def is_valid(self, at: datetime | None = None) -> bool:
        at = at or timezone.now()
        return self.client.is_active and (self.ends_at is None or self.ends_at > at)


class ApiTokenUse(models.Model):
    """When a token was last used, and from where: written at most once a minute per token.

    Kept apart from the token so that using the API never writes the token's history.
    """

    token = models.OneToOneField(ApiToken, verbose_name=_("API token"), on_delete=models.PROTECT, related_name="use")
    last_used_at = models.DateTimeField(_("last used"))
    last_ip = models.GenericIPAddressField(_("last address"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token use")
        verbose_name_plural = _("API token uses")

    def __str__(self) -> str:
        return f"{self.token} · {self.last_used_at:%Y-%m-%d %H:%M}"


class ReceivedEvent(models.Model):
    """An event a client sent that was applied: a repeated ``event_id`` is acknowledged, never applied twice.

    Written in the same transaction as the event's effect, so an event is either applied and
    remembered, or neither. Refused events are not kept: a corrected event may be sent again.
    """

    client = models.ForeignKey(ApiClient, verbose_name=_("API client"), on_delete=models.PROTECT,
                               related_name="received_events")
    event_id = models.CharField(_("event id"), max_length=100)
    type = models.CharField(_("type"), max_length=40)
    occurred_at = models.DateTimeField(_("occurred at"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        verbose_name = _("received event")
        verbose_name_plural = _("received events")
        constraints = [
            models.UniqueConstraint(fields=["client", "event_id"], name="received_event_once_per_client"),
        ]

    def __str__(self) -> str:
        return f"{self.client} · {self.event_id}"


class ReceivedRequest(models.Model):
    """A data-subject request a client sent (POST /api/v1/requests): the clients of that system alone
    may read it back, and the client's reference makes a retried call return the request it made
    instead of a second one.

    Written in the same transaction as the request. The reference is optional; given, it is unique
    per client (the database holds that, so two retries at once cannot both create a request).
    """

    client = models.ForeignKey(ApiClient, verbose_name=_("API client"), on_delete=models.PROTECT,
                               related_name="received_requests")
    request = models.OneToOneField("rights_requests.SubjectRequest", verbose_name=_("request"),
                                   on_delete=models.PROTECT, related_name="api_receipt")
    reference = models.CharField(_("client's reference"), max_length=100, blank=True,
                                 help_text=_("The Idempotency-Key header or client_reference the client sent."))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        verbose_name = _("request received through the API")
        verbose_name_plural = _("requests received through the API")
        constraints = [
            models.UniqueConstraint(fields=["client", "reference"], condition=~Q(reference=""),
                                    name="received_request_reference_once_per_client"),
        ]

    def __str__(self) -> str:
        return f"{self.client} · DSR #{self.request_id}"
