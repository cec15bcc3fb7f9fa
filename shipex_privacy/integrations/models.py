"""The ShipEx systems that call the API: their clients, tokens and the events they sent.

A token is shown once, when it is issued, and kept only as its SHA-256 hash: a copy of the
database gives no one a working token. A token is 32 random bytes, so a plain (unkeyed) hash is
enough — there is nothing to guess that a key would protect.
"""

import hashlib
import secrets
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
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
    TASKS_ANSWER = "tasks:answer", _("Answer the tasks sent to its system (erasure done, its part of a package, …)")


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


# The request kinds whose work another system may be sent (issue 12): its part of an access
# package, an erasure, a correction, a stop (log-out), a consent withdrawal.
HANDLED_KINDS = ("access", "correction", "erasure", "consent_withdrawal", "stop")
SECRET_PREFIX = "whsec_"  # noqa: S105 (a label, as Stripe's, that tells a signing secret apart)


def new_signing_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


class SystemIntegrationQuerySet(models.QuerySet):
    def handling(self, kind: str):
        """Active integrations that take requests of ``kind``; JSON containment differs per database,
        and the list is short (one row per system), so it is filtered in Python."""
        return [integration for integration in self.filter(active=True).select_related("system")
                if kind in integration.kinds]


class SystemIntegration(models.Model):
    """How the back office sends one catalogue system its part of a request: a signed webhook.

    A system without an active integration keeps today's manual tasks for its owner.
    """

    system = models.OneToOneField(System, verbose_name=_("system"), on_delete=models.PROTECT,
                                  related_name="integration")
    webhook_url = models.URLField(_("webhook URL"), max_length=500, help_text=_(
        "HTTPS. Plain HTTP only to 127.0.0.1 or localhost, and only in a demo or test set-up."))
    # Unlike an API token (which we only ever compare, so a hash is enough), the worker must sign
    # every delivery with this secret, so it has to be readable here. It is shown once, on the page
    # that answers the POST that made it, and kept out of history and of every admin form.
    signing_secret = models.CharField(_("signing secret"), max_length=100, default=new_signing_secret,
                                      editable=False)
    kinds = models.JSONField(_("request kinds it handles"), default=list, blank=True)
    timeout_seconds = models.PositiveSmallIntegerField(_("timeout (seconds)"), default=10)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = SystemIntegrationQuerySet.as_manager()
    history = audited_history(excluded_fields=["signing_secret"])

    class Meta:
        ordering = ["system__name"]
        verbose_name = _("system integration")
        verbose_name_plural = _("system integrations")
        constraints = [
            models.CheckConstraint(condition=Q(timeout_seconds__gte=1) & Q(timeout_seconds__lte=60),
                                   name="system_integration_timeout_range"),
        ]

    def __str__(self) -> str:
        return f"{self.system} → {self.webhook_url}"

    def clean(self) -> None:
        errors = {}
        url = urlsplit(self.webhook_url or "")
        local_http = settings.WEBHOOKS_ALLOW_LOCAL_HTTP
        if url.scheme == "http" and not (local_http and url.hostname in ("127.0.0.1", "localhost")):
            errors["webhook_url"] = _("Use an https:// address; plain http is allowed only to 127.0.0.1 or "
                                      "localhost in a demo or test set-up.")
        elif url.scheme not in ("http", "https"):
            errors["webhook_url"] = _("Use an https:// address.")
        unknown = [kind for kind in self.kinds or [] if kind not in HANDLED_KINDS]
        if unknown or not isinstance(self.kinds, list):
            errors["kinds"] = _("Unknown request kinds: %(kinds)s.") % {"kinds": ", ".join(map(str, unknown))}
        if errors:
            raise ValidationError(errors)


class SystemTask(models.Model):
    """The work one integrated system must do for a request, and the system's answer.

    Opened with its outbox message, in the transaction of the request change that needs it; closed by
    the system's callback through the API, in history with the system's client as the actor. For an
    erasure the answer also ticks off the request's erasure tasks for that system.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Waiting for the system")
        DONE = "done", _("Done by the system")
        REFUSED = "refused", _("Refused by the system")

    request = models.ForeignKey("rights_requests.SubjectRequest", verbose_name=_("request"),
                                on_delete=models.PROTECT, related_name="system_tasks")
    system = models.ForeignKey(System, verbose_name=_("system"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=30)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_by = models.CharField(_("answered by"), max_length=150, blank=True)
    # What the system reported: for an erasure what it erased and kept (under which law, until when),
    # for a correction what it applied, for an access request its part of the package.
    answer = models.JSONField(_("answer"), default=dict, blank=True)
    refusal_reason = models.CharField(_("reason for refusing"), max_length=500, blank=True)

    history = audited_history()

    class Meta:
        ordering = ["request", "system__name"]
        verbose_name = _("task for a system")
        verbose_name_plural = _("tasks for systems")
        constraints = [
            models.UniqueConstraint(fields=["request", "system"], name="system_task_once_per_system"),
            models.CheckConstraint(condition=Q(status="open", answered_at__isnull=True)
                                   | (~Q(status="open") & Q(answered_at__isnull=False)),
                                   name="system_task_answered_when_closed"),
            models.CheckConstraint(condition=~Q(status="refused") | ~Q(refusal_reason=""),
                                   name="system_task_refusal_has_reason"),
        ]
        indexes = [models.Index(fields=["request", "status"], name="system_task_request_idx")]

    def __str__(self) -> str:
        return f"DSR #{self.request_id} · {self.system}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class OutboxMessageQuerySet(models.QuerySet):
    def due(self, now: datetime | None = None):
        return self.filter(status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now or timezone.now())


class OutboxMessage(models.Model):
    """A webhook to send, written in the transaction of the change that causes it; a worker delivers it.

    No history: its progress (attempts, next try) is delivery bookkeeping, each attempt kept in
    ``DeliveryAttempt``; what the system did is on its task. The payload names no more than the
    system needs: the request's number and kind, and the subject's account id.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        DEAD = "dead", _("Dead (gave up)")

    task = models.OneToOneField(SystemTask, verbose_name=_("task"), on_delete=models.PROTECT,
                                related_name="message")
    integration = models.ForeignKey(SystemIntegration, verbose_name=_("integration"), on_delete=models.PROTECT,
                                    related_name="messages")
    kind = models.CharField(_("kind"), max_length=40)
    payload = models.JSONField(_("payload"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, unique=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)

    objects = OutboxMessageQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        indexes = [models.Index(fields=["next_attempt_at"], name="outbox_message_due_idx",
                                condition=Q(status="pending"))]
        constraints = [
            models.CheckConstraint(condition=~Q(status="delivered") | Q(delivered_at__isnull=False),
                                   name="outbox_message_delivered_at"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} · DSR #{self.payload.get('request_id')} → {self.integration.system}"


class DeliveryAttempt(models.Model):
    """One try at delivering a message: what the receiver answered, or why it could not."""

    message = models.ForeignKey(OutboxMessage, verbose_name=_("message"), on_delete=models.PROTECT,
                                related_name="delivery_attempts")
    at = models.DateTimeField(_("at"), default=timezone.now)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        ordering = ["message", "at", "id"]
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")

    def __str__(self) -> str:
        return f"{self.message_id} · {self.status_code or self.error[:40]}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
