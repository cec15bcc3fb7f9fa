"""Systems of record (issue 12): outbox rows written with the request change, signed delivery with
retries, a worker killed mid-delivery, a broker that is down, and the systems' answers."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from shipex_privacy.catalogue.models import System
from shipex_privacy.integrations import services
from shipex_privacy.integrations.models import DeliveryAttempt, OutboxMessage, SystemTask
from shipex_privacy.integrations.services import integration_create, outbox_deliver_due, outbox_retry
from shipex_privacy.integrations.webhooks import SignatureError, verify_signature
from shipex_privacy.rights_requests.erasure import request_erase
from shipex_privacy.rights_requests.models import SubjectRequest
from shipex_privacy.rights_requests.services import request_move, request_receive, request_verify_identity
from tests.integrations.factories import bearer, make_api_client
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db


def task_systems() -> list[System]:
    """The systems an erasure leaves tasks for: the owners of the catalogue's unbound entries."""
    return list(System.objects.filter(fields__binding="").distinct().order_by("code"))


def integrate(system: System, receiver, kinds=("erasure", "access")):
    return integration_create(system=system, webhook_url=receiver.url, kinds=list(kinds), actor=None)


def verified_request(agent, kind: str, subject=None):
    request = request_receive(kind=kind, channel="phone", actor=agent, subject=subject or DataSubjectFactory(),
                              requester_name="Aziza Tursunova", details="Please.")
    return request_verify_identity(request=request, method="sms_code", actor=agent)


def erasure_with_every_system_integrated(agent, receiver):
    integrations = [integrate(system, receiver) for system in task_systems()]
    request = verified_request(agent, "erasure")
    request_erase(request=request, actor=agent)
    return request, integrations


def later(minutes: int):
    return timezone.now() + timedelta(minutes=minutes)


def test_an_erasure_writes_one_message_per_integrated_system_and_the_payload_names_no_more(
        support_agent, receiver):
    systems = task_systems()
    integrate(systems[0], receiver)
    request = verified_request(support_agent, "erasure")
    account_id = request.subject.account_id

    request_erase(request=request, actor=support_agent)

    message = OutboxMessage.objects.get()
    assert message.integration.system == systems[0] and message.status == "pending"
    assert set(message.payload) == {"type", "task_id", "request_id", "kind", "account_id", "due_at", "answer_path"}
    assert message.payload["account_id"] == account_id  # as the system knows it, before the erasure
    # The systems without an integration keep their manual tasks; the request waits for every one.
    request.refresh_from_db()
    assert request.status == SubjectRequest.Status.WAITING_SYSTEMS
    assert request.open_tasks().exclude(system=systems[0]).exists() == (len(systems) > 1)


def test_outbox_rows_roll_back_with_the_request_change(support_agent, receiver):
    integrate(task_systems()[0], receiver)
    request = verified_request(support_agent, "erasure")

    with pytest.raises(RuntimeError), transaction.atomic():
        request_erase(request=request, actor=support_agent)
        assert OutboxMessage.objects.count() == 1  # written in the erasure's own transaction
        raise RuntimeError("the erasure's transaction fails after the outbox write")

    assert not OutboxMessage.objects.exists() and not SystemTask.objects.exists()
    assert not request.erasure_items.exists()


def test_a_receiver_answering_500_three_times_gets_it_once_after_four_attempts(support_agent, receiver):
    integration = integrate(task_systems()[0], receiver)
    request_erase(request=verified_request(support_agent, "erasure"), actor=support_agent)
    receiver.answers = [500, 500, 500]

    for minutes in (0, 60, 180, 420):  # each past the back-off of the attempt before
        outbox_deliver_due(now=later(minutes))
    outbox_deliver_due(now=later(5000))  # nothing is due any more

    message = OutboxMessage.objects.get()
    assert message.status == "delivered" and message.attempts == 4
    assert [a.status_code for a in message.delivery_attempts.all()] == [500, 500, 500, 200]
    assert message.delivery_attempts.first().error == "HTTP 500 Internal Server Error"
    assert len(receiver.received) == 4 and len(set(receiver.keys)) == 1
    last = receiver.received[-1]
    verify_signature(integration.signing_secret, last.headers["shipex-signature"], last.body)
    assert json.loads(last.body)["task_id"] == message.task_id


def test_a_failed_message_waits_for_its_back_off(support_agent, receiver):
    integrate(task_systems()[0], receiver)
    request_erase(request=verified_request(support_agent, "erasure"), actor=support_agent)
    receiver.answers = [503]
    now = timezone.now()

    assert outbox_deliver_due(now=now).failed == 1
    assert outbox_deliver_due(now=now + timedelta(seconds=14)).claimed == 0  # at least half the first back-off
    assert outbox_deliver_due(now=now + timedelta(seconds=31)).delivered == 1


def test_after_the_last_allowed_failure_a_message_is_dead_and_retry_now_sends_it_again(
        settings, support_agent, compliance_officer, receiver):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    integrate(task_systems()[0], receiver)
    request_erase(request=verified_request(support_agent, "erasure"), actor=support_agent)
    receiver.answers = [500, 500]
    outbox_deliver_due(now=later(0))
    assert outbox_deliver_due(now=later(60)).dead == 1
    message = OutboxMessage.objects.get()
    assert message.status == "dead" and outbox_deliver_due(now=later(6000)).claimed == 0

    outbox_retry(message=message, actor=compliance_officer)

    assert outbox_deliver_due().delivered == 1
    row = message.task.history.latest()
    assert row.history_username == "nodira" and "retried now" in row.history_change_reason


def test_a_worker_killed_mid_delivery_delivers_again_with_the_same_key(monkeypatch, support_agent, receiver):
    integrate(task_systems()[0], receiver)
    request_erase(request=verified_request(support_agent, "erasure"), actor=support_agent)
    real_record = services._record

    def killed(*args, **kwargs):
        raise SystemExit("worker killed after the POST, before recording it")

    monkeypatch.setattr(services, "_record", killed)
    now = timezone.now()
    with pytest.raises(SystemExit):
        outbox_deliver_due(now=now)
    monkeypatch.setattr(services, "_record", real_record)

    message = OutboxMessage.objects.get()
    assert message.status == "pending" and message.attempts == 0 and len(receiver.received) == 1
    assert outbox_deliver_due(now=now + timedelta(seconds=5)).claimed == 0  # still leased to the dead worker
    assert outbox_deliver_due(now=now + timedelta(minutes=2)).delivered == 1
    assert len(receiver.received) == 2 and receiver.keys[0] == receiver.keys[1] == message.idempotency_key


def test_with_the_broker_down_the_task_call_fails_but_the_rows_wait(support_agent, receiver):
    from celery import Celery, current_app
    from kombu.exceptions import OperationalError

    from shipex_privacy.integrations.tasks import deliver_outbox

    integrate(task_systems()[0], receiver)
    request_erase(request=verified_request(support_agent, "erasure"), actor=support_agent)
    # Nothing listens on port 1: the broker is down.
    previous = current_app._get_current_object()
    app = Celery("broker-down", broker="redis://127.0.0.1:1/3", set_as_current=True)
    app.conf.update(task_publish_retry=False, broker_connection_timeout=1, broker_connection_retry=False,
                    broker_connection_max_retries=0)
    try:
        with pytest.raises(OperationalError):
            deliver_outbox.delay()
    finally:
        previous.set_current()

    assert OutboxMessage.objects.get().status == "pending"  # nothing lost
    assert deliver_outbox.run() == {"delivered": 1, "failed": 0, "dead": 0}  # the next run delivers it
    assert OutboxMessage.objects.get().status == "delivered"


def answer(client, task, secret, body):
    return client.post(reverse("api:task-answer", args=[task.pk]), json.dumps(body),
                       content_type="application/json", **bearer(secret))


def test_an_erasure_closes_by_itself_once_every_integrated_system_answered(client, support_agent, receiver):
    request, integrations = erasure_with_every_system_integrated(support_agent, receiver)
    tasks = list(SystemTask.objects.filter(request=request).select_related("system"))
    assert tasks and {task.system for task in tasks} == {i.system for i in integrations}
    outbox_deliver_due()
    assert OutboxMessage.objects.filter(status="delivered").count() == len(tasks)

    for number, task in enumerate(tasks):
        _api_client, secret = make_api_client(system=task.system, scopes=["tasks:answer"])
        response = answer(client, task, secret, {
            "outcome": "done", "erased": ["order history", "delivery photos"],
            "kept": [{"data": "invoices", "law": "Tax Code, art. 91", "until": "2031-12-31"}]})
        assert response.status_code == 200, response.content
        assert response.json()["status"] == "done" and response.json()["changed"] is True
        request.refresh_from_db()
        last = number == len(tasks) - 1
        assert (request.status == SubjectRequest.Status.DONE) == last

    assert not request.open_tasks().exists() and request.response_text
    item = request.erasure_items.filter(outcome="task").first()
    assert item.task_done_by_username.startswith("api:test-client-")
    assert "invoices (Tax Code, art. 91, 2031-12-31)" in item.task_note
    task = tasks[0]
    task.refresh_from_db()
    assert task.answer["kept"][0]["until"] == "2031-12-31"
    assert task.history.latest().history_username == task.answered_by


def test_a_callback_for_a_task_already_done_is_200_and_changes_nothing(client, support_agent, receiver):
    request, _integrations = erasure_with_every_system_integrated(support_agent, receiver)
    task = SystemTask.objects.filter(request=request).first()
    _api_client, secret = make_api_client(system=task.system, scopes=["tasks:answer"])
    assert answer(client, task, secret, {"outcome": "done", "erased": ["orders"]}).status_code == 200
    rows = task.history.count()

    again = answer(client, task, secret, {"outcome": "refused", "reason": "changed our mind"})

    assert again.status_code == 200 and again.json() | {"answered_at": None} == {
        "task_id": task.pk, "request_id": request.pk, "kind": "erasure", "status": "done", "answered_at": None,
        "changed": False}
    task.refresh_from_db()
    assert task.status == "done" and task.history.count() == rows


def test_a_callback_from_another_systems_client_is_refused(client, support_agent, receiver):
    request, _integrations = erasure_with_every_system_integrated(support_agent, receiver)
    task = SystemTask.objects.filter(request=request).first()
    other = System.objects.exclude(pk=task.system_id).first()
    _api_client, secret = make_api_client(system=other, scopes=["tasks:answer"])

    response = answer(client, task, secret, {"outcome": "done", "erased": ["orders"]})

    assert response.status_code == 403 and response.json()["code"] == "other_system"
    assert response["Content-Type"] == "application/problem+json"
    task.refresh_from_db()
    assert task.is_open and request.open_tasks().filter(system=task.system).exists()


def test_an_answer_needs_the_tasks_scope_and_a_known_task(client, support_agent, receiver):
    request, _integrations = erasure_with_every_system_integrated(support_agent, receiver)
    task = SystemTask.objects.filter(request=request).first()
    _api_client, secret = make_api_client(system=task.system, scopes=["requests:read"])
    assert answer(client, task, secret, {"outcome": "done"}).json()["code"] == "missing_scope"
    _api_client, secret = make_api_client(system=task.system, scopes=["tasks:answer"])
    missing = client.post(reverse("api:task-answer", args=[task.pk + 1000]), "{}", content_type="application/json",
                          **bearer(secret))
    assert missing.status_code == 404


def test_an_access_request_waits_for_the_systems_part_and_keeps_it(client, support_agent, receiver):
    system = task_systems()[0]
    integrate(system, receiver, kinds=["access"])

    request = verified_request(support_agent, "access")

    task = SystemTask.objects.get(request=request)
    assert task.message.payload["kind"] == "access"
    from tests.rights_requests.factories import build_package

    build_package(request, support_agent)
    for status in ("verifying", "in_progress"):
        request_move(request=request, status=status, actor=support_agent)
    with pytest.raises(ValidationError, match="Waiting for the answer of"):
        request_move(request=request, status="done", response_text="Here is your data.", actor=support_agent)
    _api_client, secret = make_api_client(system=system, scopes=["tasks:answer"])
    part = [{"title": "Deliveries", "records": [{"parcel": "UZ-1001", "delivered_on": "2026-11-02"}]}]
    assert answer(client, task, secret, {"outcome": "done", "part": part}).status_code == 200

    task.refresh_from_db()
    assert task.answer == {"part": part}
    request_move(request=request, status="done", response_text="Here is your data.", actor=support_agent)


@pytest.mark.parametrize(("body", "field"), [
    ({"outcome": "done"}, "part"),
    ({"outcome": "done", "part": [{"title": "x", "records": [{"nested": {"no": 1}}]}]}, "part.0.records"),
    ({"outcome": "done", "part": [{"title": "x", "records": [{"big": "x" * 600_000}]}]}, "part"),
    ({"outcome": "refused"}, "reason"),
    ({"outcome": "done", "part": [], "surprise": 1}, "surprise"),
])
def test_a_bad_answer_is_refused_by_field_and_changes_nothing(client, support_agent, receiver, body, field):
    system = task_systems()[0]
    integrate(system, receiver, kinds=["access"])
    task = SystemTask.objects.get(request=verified_request(support_agent, "access"))
    _api_client, secret = make_api_client(system=system, scopes=["tasks:answer"])

    response = answer(client, task, secret, body)

    assert response.status_code == 400, response.content
    assert field in {error["field"] for error in response.json()["errors"]}
    task.refresh_from_db()
    assert task.is_open


def test_a_signature_is_refused_when_tampered_or_replayed_late():
    body = b'{"task_id":1}'
    from shipex_privacy.integrations.webhooks import signature_header

    header = signature_header("whsec_test", body, now=1_000_000)
    assert verify_signature("whsec_test", header, body, now=1_000_100) == 1_000_000
    for secret, given, now in (("whsec_other", body, 1_000_100), ("whsec_test", body + b" ", 1_000_100),
                               ("whsec_test", body, 1_000_301)):
        with pytest.raises(SignatureError):
            verify_signature(secret, header, given, now=now)
    with pytest.raises(SignatureError):
        verify_signature("whsec_test", "v1=abc", body)


@pytest.mark.parametrize(("url", "local_allowed", "ok"), [
    ("https://hooks.example.uz/shipex", False, True),
    ("http://hooks.example.uz/shipex", True, False),
    ("http://127.0.0.1:9000/hooks", True, True),
    ("http://127.0.0.1:9000/hooks", False, False),
    ("ftp://127.0.0.1/hooks", True, False),
])
def test_a_webhook_is_https_or_local_http_in_a_demo(settings, url, local_allowed, ok):
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = local_allowed
    system = System.objects.first()
    if ok:
        assert integration_create(system=system, webhook_url=url, kinds=["erasure"], actor=None).pk
    else:
        with pytest.raises(ValidationError, match="https"):
            integration_create(system=system, webhook_url=url, kinds=["erasure"], actor=None)


def test_attempts_are_kept_per_message():
    assert DeliveryAttempt._meta.get_field("message").remote_field.on_delete.__name__ == "PROTECT"


def test_a_task_is_in_the_trail_as_sent_to_its_system_and_answered_by_it(client, support_agent, receiver):
    from shipex_privacy.audit.events import AuditEvent
    from shipex_privacy.audit.models import TrailEntry

    system = task_systems()[0]
    integrate(system, receiver, kinds=["access"])
    task = SystemTask.objects.get(request=verified_request(support_agent, "access"))
    _api_client, secret = make_api_client(system=system, scopes=["tasks:answer"])
    part = [{"title": "Deliveries", "records": [{"parcel": "UZ-1001"}]}]
    assert answer(client, task, secret, {"outcome": "done", "part": part}).status_code == 200

    entries = TrailEntry.objects.filter(model="integrations.systemtask", object_id=str(task.pk)).order_by("pk")
    assert [entry.event for entry in entries] == [AuditEvent.TASK_SENT, AuditEvent.TASK_ANSWERED]
