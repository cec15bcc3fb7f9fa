"""Issue 12's demo walk on `make demo`'s own data: the demo's integrations, real receivers on
127.0.0.1 answering through the live API, an erasure that closes by itself, and the staff digests
written by the demo's file mail backend."""

import json
import threading
import zipfile
from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import call_command

from shipex_privacy.audit.events import AuditEvent
from shipex_privacy.audit.services import record_save
from shipex_privacy.integrations.demo_receiver import ANSWERING, DEMO_PORT, DemoReceiver, demo_systems
from shipex_privacy.integrations.management.commands.run_demo_receiver import Command as ReceiverCommand
from shipex_privacy.integrations.models import OutboxMessage, SystemIntegration, SystemTask
from shipex_privacy.integrations.services import outbox_deliver_due
from shipex_privacy.rights_requests import services as requests
from shipex_privacy.rights_requests.access_package import access_package_build
from shipex_privacy.rights_requests.erasure import request_erase
from shipex_privacy.rights_requests.models import SubjectRequest
from shipex_privacy.subjects.models import DataSubject
from tests.integrations.test_demo_receiver import wait_for
from tests.test_demo import DEMO_COMMANDS


def start_receivers(back_office: str, lines: list):
    """What `run_demo_receiver --all` starts, on free ports (the demo's own may be taken here)."""
    servers = []
    for system in demo_systems():
        integration, token = ReceiverCommand().connect(system.code, "http://127.0.0.1:0/")
        receiver = DemoReceiver(secret=integration.signing_secret, token=token, back_office=back_office,
                                system_name=system.name, log=lines.append)
        server = receiver.server("127.0.0.1", 0)
        integration.webhook_url = f"http://127.0.0.1:{server.server_port}/"
        record_save(instance=integration, actor=None, event=AuditEvent.EDITED, reason="Test: a free port")
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    return servers


def test_an_erasure_in_the_demo_closes_itself_and_the_digests_reach_the_mail_files(
        catalogue, live_server, settings, tmp_path):
    settings.DEBUG = True
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"  # as config/settings/local.py
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    for command in (*DEMO_COMMANDS, "load_demo_integrations"):
        call_command(command, stdout=StringIO())

    systems = demo_systems()
    integrations = SystemIntegration.objects.filter(active=True).order_by("system__code")
    assert [each.system for each in integrations] == systems and len(systems) > 1
    assert integrations[0].webhook_url == f"http://127.0.0.1:{DEMO_PORT}/"
    out = StringIO()
    call_command("load_demo_integrations", stdout=out)  # a second `make demo`
    assert "already present" in out.getvalue()

    # The agent's walk: receive, match, verify, start, erase — for a subject no demo request touches.
    agent = get_user_model().objects.get(username="support")
    subject = DataSubject.objects.filter(status=DataSubject.Status.ACTIVE, rights_requests__isnull=True,
                                         legal_holds__isnull=True).order_by("pk").first()
    request = requests.request_receive(kind="erasure", channel="app", actor=agent, requester_name=subject.full_name,
                                       requester_contact=subject.phone)
    request = requests.request_match_subject(request=request, term=subject.account_id, actor=agent)
    request = requests.request_move(request=request, status="verifying", actor=agent)
    request = requests.request_verify_identity(request=request, method="app_login", actor=agent)
    request = requests.request_move(request=request, status="in_progress", actor=agent)

    # And an access request for another subject: verifying the identity sends it to the systems.
    other = DataSubject.objects.filter(status=DataSubject.Status.ACTIVE, rights_requests__isnull=True,
                                       legal_holds__isnull=True).exclude(pk=subject.pk).order_by("pk").first()
    access = requests.request_receive(kind="access", channel="app", actor=agent, subject=other,
                                      requester_name=other.full_name, requester_contact=other.phone)

    lines = []
    servers = start_receivers(live_server.url, lines)
    try:
        request_erase(request=request, actor=agent)
        request.refresh_from_db()
        assert request.status == SubjectRequest.Status.WAITING_SYSTEMS
        access = requests.request_verify_identity(request=access, method="app_login", actor=agent)
        # In-memory SQLite shares one connection with the live server: the receivers answer only
        # once this thread is done with it (test_demo_receiver.py says more).
        with ANSWERING:
            assert outbox_deliver_due().delivered == 2 * len(systems)
        assert wait_for(lambda: sum("answered task" in line for line in lines) == 2 * len(systems)), lines
        assert all(": HTTP 200" in line for line in lines if "answered task" in line), lines
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()

    request.refresh_from_db()
    assert request.status == SubjectRequest.Status.DONE, lines
    assert request.response_text  # the done letter from the demo's template
    assert not request.open_tasks().exists()
    assert OutboxMessage.objects.filter(task__request=request, status="delivered").count() == len(systems)
    assert set(SystemTask.objects.filter(request=request).values_list("status", flat=True)) == {"done"}

    # The access package carries each system's part, in its own section.
    access = requests.request_move(request=access, status="verifying", actor=agent)
    access = requests.request_move(request=access, status="in_progress", actor=agent)
    package = access_package_build(request=access, actor=agent)
    with package.file.open("rb") as stored, zipfile.ZipFile(stored) as bundle:
        data, page = json.loads(bundle.read("data.json")), bundle.read("index.html").decode()
    parts = data["answered_by_systems"]
    assert {part["system"]["name"] for part in parts.values()} == {system.name for system in systems}
    assert all(part["part"][0]["records"][0]["parcel"] == "UZ-2026-0001" for part in parts.values())
    assert all(f'id="system-{system.code}"' in page for system in systems) and "UZ-2026-0001" in page

    call_command("send_digests", stdout=StringIO())
    mails = [path.read_text() for path in (tmp_path / "mail").iterdir()]
    assert len(mails) >= 3, mails  # one per demo staff member with something to do
    assert any("overdue" in mail.lower() or "muddati" in mail.lower() for mail in mails)
