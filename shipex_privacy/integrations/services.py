"""Audited writes about API clients and their tokens, and finding the client a token belongs to;
the integrations of systems of record, their outbox and its delivery (answers: ``answers.py``)."""

import random
import secrets
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shipex_privacy.audit.events import Actor, ApiActor, AuditEvent
from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.models import System

from .models import (
    ApiClient,
    ApiToken,
    ApiTokenUse,
    DeliveryAttempt,
    OutboxMessage,
    Scope,
    SystemIntegration,
    SystemTask,
    token_hash,
)
from .webhooks import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, body_bytes, signature_header

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


# ---------------------------------------------------------------------------------------------
# Systems of record: the outbox (written with the request change), its delivery, the answers.

# A task's events in history, by the request kind it belongs to.
ANSWER_PATH = "/api/v1/tasks/{id}/answer"
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_LONGEST = timedelta(hours=6)
# While a worker delivers a message, no other claims it; a worker killed mid-delivery leaves it due
# again once this lease (the integration's timeout plus this margin) is over.
LEASE_MARGIN = timedelta(seconds=30)


def max_attempts() -> int:
    return settings.OUTBOX_MAX_ATTEMPTS


def integration_create(*, system: System, webhook_url: str, kinds: list[str], actor: Actor | None,
                       timeout_seconds: int = 10, active: bool = True) -> SystemIntegration:
    """An integration for ``system`` with a new signing secret (the caller shows it once)."""
    if SystemIntegration.objects.filter(system=system).exists():
        raise ValidationError(_("%(system)s already has an integration.") % {"system": system}, code="exists")
    integration = SystemIntegration(system=system, webhook_url=webhook_url, kinds=sorted(set(kinds)),
                                    timeout_seconds=timeout_seconds, active=active)
    return record_save(instance=integration, actor=actor, event=AuditEvent.EDITED,
                       reason=_("Integration of %(system)s created") % {"system": system.code})


def _payload(task: SystemTask, request) -> dict:
    return {
        "type": f"request.{task.kind}",
        "task_id": task.pk,
        "request_id": request.pk,
        "kind": task.kind,
        # The one identifier the system needs to find the subject; nothing else about them.
        "account_id": request.subject.account_id if request.subject_id else None,
        "due_at": request.due_at.isoformat(),
        "answer_path": ANSWER_PATH.format(id=task.pk),
    }


def outbox_write(*, request, actor: Actor | None, systems=None) -> list[SystemTask]:
    """For each active integration handling ``request``'s kind (of ``systems``, if given): a task and
    its outbox message. Runs inside the caller's transaction (rights_requests' ``systems_need_work``),
    so the messages commit, or roll back, with the request change. Once per request and system."""
    wanted = None if systems is None else {system.pk for system in systems}
    tasks = []
    for integration in SystemIntegration.objects.handling(request.kind):
        if wanted is not None and integration.system_id not in wanted:
            continue
        if SystemTask.objects.filter(request=request, system=integration.system).exists():
            continue
        task = record_save(instance=SystemTask(request=request, system=integration.system, kind=request.kind),
                           actor=actor, event=AuditEvent.TASK_SENT, allow_erased=True,
                           reason=_("Request #%(id)s: sent to %(system)s") % {
                               "id": request.pk, "system": integration.system.shown.name})
        OutboxMessage.objects.create(task=task, integration=integration, kind=f"request.{request.kind}",
                                     payload=_payload(task, request), idempotency_key=uuid.uuid4().hex)
        tasks.append(task)
    return tasks


def systems_still_working(request) -> str:
    """Why ``request`` cannot close as done while integrated systems have not answered (erasures wait
    through their erasure tasks instead, which an officer may override)."""
    if request.kind == "erasure":
        return ""
    names = list(SystemTask.objects.filter(request=request, status=SystemTask.Status.OPEN)
                 .order_by("system__name").values_list("system__name", flat=True))
    if not names:
        return ""
    return _("Waiting for the answer of %(systems)s; the request closes as done once every system has "
             "answered.") % {"systems": ", ".join(names)}


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    dead: int = 0

    @property
    def claimed(self) -> int:
        return self.delivered + self.failed + self.dead


@dataclass(frozen=True)
class PostResult:
    status_code: int | None
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def backoff(attempts: int) -> timedelta:
    """Exponential, capped, with jitter (half fixed, half random) so failed messages do not all
    come back at the same moment."""
    delay = min(BACKOFF_LONGEST, BACKOFF_FIRST * 2 ** max(attempts - 1, 0))
    return delay / 2 + delay / 2 * random.random()  # noqa: S311 (spreading retries, not a secret)


def _claim(now, limit: int) -> list[OutboxMessage]:
    """Due messages, leased to this worker: another worker skips them (skip_locked on PostgreSQL) now
    and, after this transaction, finds them not due until the lease is over."""
    with transaction.atomic():
        due = OutboxMessage.objects.due(now).order_by("next_attempt_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        messages = list(due.select_related("integration")[:limit])
        for message in messages:
            message.next_attempt_at = now + timedelta(seconds=message.integration.timeout_seconds) + LEASE_MARGIN
            message.save(update_fields=["next_attempt_at"])
    return messages


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer of its own (a failure), never followed with the body


_opener = urllib.request.build_opener(_NoRedirect)


def _post(message: OutboxMessage) -> PostResult:
    integration = message.integration
    body = body_bytes(message.payload)
    if not integration.webhook_url.startswith(("https://", "http://")):  # clean() allows no other scheme
        return PostResult(None, "Not an http(s) URL.", 0)
    http_request = urllib.request.Request(integration.webhook_url, data=body, method="POST", headers={  # noqa: S310
        "Content-Type": "application/json",
        "User-Agent": "ShipEx-Privacy-Webhooks/1",
        SIGNATURE_HEADER: signature_header(integration.signing_secret, body),
        IDEMPOTENCY_HEADER: message.idempotency_key,
    })
    started = time.monotonic()
    status_code, error = None, ""
    try:
        with _opener.open(http_request, timeout=integration.timeout_seconds) as response:
            status_code = response.status
    except urllib.error.HTTPError as failure:
        status_code, error = failure.code, f"HTTP {failure.code} {failure.reason}"
    except (urllib.error.URLError, OSError, ValueError) as failure:
        error = f"{type(failure).__name__}: {getattr(failure, 'reason', failure)}"
    return PostResult(status_code, error[:500], int((time.monotonic() - started) * 1000))


def _record(message: OutboxMessage, result: PostResult, now) -> str:
    """Keep the attempt and move the message on: delivered, due again later, or dead."""
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().get(pk=message.pk)
        DeliveryAttempt.objects.create(message=message, at=now, status_code=result.status_code,
                                       error=result.error, duration_ms=result.duration_ms)
        message.attempts += 1
        if result.ok:
            message.status, message.delivered_at, message.last_error = OutboxMessage.Status.DELIVERED, now, ""
        else:
            message.last_error = result.error or f"HTTP {result.status_code}"
            if message.attempts >= max_attempts():
                message.status = OutboxMessage.Status.DEAD
            else:
                message.next_attempt_at = now + backoff(message.attempts)
        message.save()
    return message.status


def outbox_deliver_due(*, now=None, limit: int = 100) -> DeliveryReport:
    """Deliver the messages due at ``now``: each POSTed signed, outside any transaction, then recorded.

    Safe to run in several workers at once; a message whose worker died is delivered again after its
    lease, with the same idempotency key, so the receiver can tell it already has it.
    """
    now = now or timezone.now()
    report = DeliveryReport()
    for message in _claim(now, limit):
        result = _post(message)
        status = _record(message, result, now)
        if status == OutboxMessage.Status.DELIVERED:
            report.delivered += 1
        elif status == OutboxMessage.Status.DEAD:
            report.dead += 1
        else:
            report.failed += 1
    return report


@transaction.atomic
def outbox_retry(*, message: OutboxMessage, actor: Actor) -> OutboxMessage:
    """Make a pending or dead message due now (one more attempt); the task's history says who asked."""
    message = OutboxMessage.objects.select_for_update().select_related("task__system").get(pk=message.pk)
    if message.status == OutboxMessage.Status.DELIVERED:
        raise ValidationError(_("Message #%(id)s was delivered; there is nothing to retry.") % {"id": message.pk},
                              code="delivered")
    message.status, message.next_attempt_at = OutboxMessage.Status.PENDING, timezone.now()
    message.save(update_fields=["status", "next_attempt_at"])
    record_save(instance=message.task, actor=actor, event=AuditEvent.TASK_SENT,
                allow_erased=True, reason=_("Request #%(id)s: delivery to %(system)s retried now (attempt "
                                            "%(attempt)s)") % {
        "id": message.task.request_id, "system": message.task.system.shown.name, "attempt": message.attempts + 1})
    return message


# A system's answer (its callback through the API).

PART_MAX_BYTES = 512 * 1024  # a system's part of an access package; more is refused, not cut
SCALAR = (str, int, float, bool, type(None))


class OtherSystemsTask(PermissionError):
    """A client answering a task sent to another system."""


def _text(value, field: str, max_length: int, *, required: bool = True) -> str:
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > max_length:
        raise ValidationError({field: _("Give a text of 1 to %(max)s characters.") % {"max": max_length}},
                              code="invalid")
    return value.strip()


def _clean_part(part) -> list:
    """A part of an access package: sections, each a title and records of plain values."""
    if not isinstance(part, list) or not part:
        raise ValidationError({"part": _("Give a list of sections: {\"title\": …, \"records\": [{…}, …]}.")},
                              code="invalid")
    if len(body_bytes({"part": part})) > PART_MAX_BYTES:
        raise ValidationError({"part": _("The part is larger than %(max)s KB.") % {"max": PART_MAX_BYTES // 1024}},
                              code="too_large")
    for number, section in enumerate(part):
        where = f"part.{number}"
        if not isinstance(section, dict) or set(section) - {"title", "records"}:
            raise ValidationError({where: _("A section has a title and records, nothing else.")}, code="invalid")
        _text(section.get("title"), f"{where}.title", 200)
        records = section.get("records")
        if not isinstance(records, list) or not all(
                isinstance(record, dict) and all(isinstance(key, str) and isinstance(value, SCALAR)
                                                 for key, value in record.items()) for record in records):
            raise ValidationError({f"{where}.records": _("Records are objects of plain values (text, numbers, "
                                                         "true/false, null).")}, code="invalid")
    return part


def _clean_kept(kept) -> list:
    if not isinstance(kept, list):
        raise ValidationError({"kept": _("Give a list.")}, code="invalid")
    cleaned = []
    for number, line in enumerate(kept):
        where = f"kept.{number}"
        if not isinstance(line, dict):
            raise ValidationError({where: _("Give what was kept, the law and until when.")}, code="invalid")
        until = line.get("until")
        if until is not None:
            try:
                until = date.fromisoformat(until).isoformat()
            except (TypeError, ValueError):
                raise ValidationError({f"{where}.until": _("Give a date as YYYY-MM-DD.")}, code="invalid") from None
        cleaned.append({"data": _text(line.get("data"), f"{where}.data", 200),
                        "law": _text(line.get("law"), f"{where}.law", 300), "until": until})
    return cleaned


def _clean_names(names, field: str) -> list[str]:
    if not isinstance(names, list) or not all(isinstance(name, str) and 0 < len(name) <= 200 for name in names):
        raise ValidationError({field: _("Give a list of names (1 to 200 characters each).")}, code="invalid")
    return names


def clean_answer(kind: str, outcome: str, data: dict) -> tuple[dict, str]:
    """The answer to keep and the refusal reason, for a task of ``kind``; ValidationError per field."""
    if outcome == SystemTask.Status.REFUSED:
        return {}, _text(data.get("reason"), "reason", 500)
    if outcome != SystemTask.Status.DONE:
        raise ValidationError({"outcome": _("Answer done or refused.")}, code="invalid")
    if kind == "erasure":
        return {"erased": _clean_names(data.get("erased", []), "erased"), "kept": _clean_kept(data.get("kept", []))}, ""
    if kind == "correction":
        return {"applied": _clean_names(data.get("applied", []), "applied")}, ""
    if kind == "access":
        return {"part": _clean_part(data.get("part"))}, ""
    return {}, ""


def _erasure_note(system: System, answer: dict) -> str:
    kept = "; ".join(f"{line['data']} ({line['law']}" + (f", {line['until']})" if line["until"] else ")")
                     for line in answer["kept"])
    note = _("Erased in %(system)s: %(erased)s.") % {"system": system.shown.name,
                                                    "erased": ", ".join(answer["erased"]) or "—"}
    return (note + " " + _("Kept: %(kept)s.") % {"kept": kept} if kept else note)[:500]


def _close_if_every_system_answered(request, actor: ApiActor) -> None:
    """An erasure whose last system has answered closes by itself, with the done letter from the
    compliance team's template; without a template it stays in progress for an agent to close."""
    from shipex_privacy.rights_requests.responses import response_from_template
    from shipex_privacy.rights_requests.services import request_move

    request.refresh_from_db()
    if request.kind != "erasure" or request.status != request.Status.IN_PROGRESS:
        return
    try:
        letter = response_from_template(request, "done")
        request_move(request=request, status=request.Status.DONE, response_text=letter, actor=actor,
                     note=_("Every system has answered: the erasure is done"))
    except ValidationError:
        return  # no template, or work still missing: an agent closes it


@dataclass(frozen=True)
class Answered:
    task: SystemTask
    changed: bool


@transaction.atomic
def system_task_answer(*, task: SystemTask, client: ApiClient, outcome: str, data: dict) -> Answered:
    """A system's answer to its task: kept on the task, in history with the system's client as the actor.

    An erasure done ticks off the request's erasure tasks for that system (and, the last one, closes
    the request). A task already answered stays as it is (``changed`` False): a repeated callback is
    harmless. A client of another system is refused (``OtherSystemsTask``).
    """
    from shipex_privacy.rights_requests.erasure import erasure_task_done
    from shipex_privacy.rights_requests.services import lock_request

    if client.system_id != task.system_id:
        raise OtherSystemsTask(task.pk)
    request = lock_request(task.request)
    task = SystemTask.objects.select_for_update().select_related("system").get(pk=task.pk)
    if not task.is_open:
        return Answered(task, False)
    answer, refusal = clean_answer(task.kind, outcome, data)
    actor = ApiActor(client.name)
    task.status, task.answered_at, task.answered_by = outcome, timezone.now(), actor.get_username()
    task.answer, task.refusal_reason = answer, refusal
    record_save(instance=task, actor=actor, event=AuditEvent.TASK_ANSWERED, allow_erased=True, reason=(
        _("Request #%(id)s: done in %(system)s") if outcome == SystemTask.Status.DONE
        else _("Request #%(id)s: refused by %(system)s")) % {"id": request.pk, "system": task.system.shown.name})
    if task.kind == "erasure" and outcome == SystemTask.Status.DONE:
        note = _erasure_note(task.system, answer)
        for item in request.open_tasks().filter(system=task.system).order_by("pk"):
            erasure_task_done(item=item, actor=actor, note=note)
        _close_if_every_system_answered(request, actor)
    return Answered(task, True)
