"""The demo's stand-in system (run_demo_receiver): it verifies each webhook, answers through the live
API with its own client's token, and an erasure of a subject whose systems are integrated closes."""

import threading
import time

import pytest
from django.core.management import call_command

from shipex_privacy.catalogue.models import System
from shipex_privacy.integrations.demo_receiver import ANSWERING, DemoReceiver
from shipex_privacy.integrations.management.commands.run_demo_receiver import Command
from shipex_privacy.integrations.models import OutboxMessage, SystemTask
from shipex_privacy.integrations.services import outbox_deliver_due
from shipex_privacy.rights_requests.erasure import request_erase
from shipex_privacy.rights_requests.models import SubjectRequest
from tests.integrations.test_outbox import task_systems, verified_request


def wait_for(check, seconds=20.0):
    """The receiver answers from its own thread: wait until it has (bounded), not for a fixed time."""
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.1)
    return check()


def test_an_erasure_closes_once_the_demo_receivers_have_answered(catalogue, live_server, settings, support_agent):
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = True
    servers, lines = [], []
    for system in task_systems():
        command = Command()
        integration, token = command.connect(system.code, "http://127.0.0.1:0/")
        receiver = DemoReceiver(secret=integration.signing_secret, token=token, back_office=live_server.url,
                                system_name=system.name, log=lines.append)
        server = receiver.server("127.0.0.1", 0)
        integration.webhook_url = f"http://127.0.0.1:{server.server_port}/"
        integration.save()
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    request = verified_request(support_agent, "erasure")
    try:
        request_erase(request=request, actor=support_agent)
        # In-memory SQLite shares one connection with the live server: the receivers answer only once
        # this thread has stopped using it (on PostgreSQL each has its own and this changes nothing).
        with ANSWERING:
            assert outbox_deliver_due().delivered == len(servers)
        # Watched through the receivers' own log: the database is busy with their answers meanwhile.
        assert wait_for(lambda: sum("answered task" in line for line in lines) == len(servers)), lines
        assert all(": HTTP 200" in line for line in lines if "answered task" in line), lines
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()

    request.refresh_from_db()
    assert request.status == SubjectRequest.Status.DONE
    assert OutboxMessage.objects.filter(status="delivered").count() == len(servers)
    assert {task.answered_by for task in SystemTask.objects.filter(request=request)} == {
        f"api:demo-{system.code}" for system in task_systems()}


def test_the_command_refuses_an_unknown_system(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no catalogue system"):
        call_command("run_demo_receiver", "--system", "no-such-system")
    assert System.objects.filter(code="no-such-system").count() == 0


def test_the_receiver_answers_again_when_the_back_office_was_busy(monkeypatch):
    """A locked SQLite demo answers 500 once; the receiver tries again, as a real system would, and a
    refusal (4xx) it does not repeat."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    monkeypatch.setattr("shipex_privacy.integrations.demo_receiver.time.sleep", lambda seconds: None)
    answers = {"/api/v1/tasks/1/answer": [500, 200], "/api/v1/tasks/2/answer": [403, 200]}
    calls = []

    class BackOffice(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            calls.append(self.path)
            self.send_response(answers[self.path].pop(0))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), BackOffice)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    lines = []
    receiver = DemoReceiver(secret="whsec_x", token="t", back_office=f"http://127.0.0.1:{server.server_port}",
                            system_name="TMS", log=lines.append)
    try:
        for task in (1, 2):
            receiver.answer({"kind": "erasure", "task_id": task, "answer_path": f"/api/v1/tasks/{task}/answer"})
    finally:
        server.shutdown()
        server.server_close()
    assert calls == ["/api/v1/tasks/1/answer"] * 2 + ["/api/v1/tasks/2/answer"]
    assert lines[0] == "answered task 1: HTTP 200" and "could not answer task 2" in lines[1], lines
