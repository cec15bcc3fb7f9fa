"""``manage.py run_demo_receiver (--system CODE … | --all) [--port 8765] [--back-office URL] [--deliver]``.

Connects the catalogue system CODE to a small local receiver (integrations/demo_receiver.py) and
runs it: the system's integration points at http://127.0.0.1:PORT/ (made, or pointed there, if
needed); a second ``--system`` gets PORT+1, and so on; ``--all`` connects every system an erasure
leaves work for, in the order load_demo_integrations gave them their ports. Each system's API
client ``demo-<code>`` gets a fresh token with the ``tasks:answer`` scope, and every webhook
is answered through the API as the system would. ``--deliver`` also delivers the outbox every two seconds,
for a demo without a worker. Plain http to 127.0.0.1 needs DEBUG (or WEBHOOKS_ALLOW_LOCAL_HTTP).
"""

import threading
import time
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, transaction

from shipex_privacy.audit.events import AuditEvent, SystemActor
from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.models import System
from shipex_privacy.integrations.demo_receiver import DEMO_PORT, DemoReceiver, demo_systems, demo_url
from shipex_privacy.integrations.models import HANDLED_KINDS, ApiClient, Scope, SystemIntegration
from shipex_privacy.integrations.services import (
    api_client_create,
    api_token_rotate,
    integration_create,
    outbox_deliver_due,
)

from .create_api_client import refusal

DEMO = SystemActor("demo-receiver")


class Command(BaseCommand):
    help = "Run a local stand-in for a ShipEx system: it receives webhooks and answers through the API."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--system", action="append", help="Catalogue system code, e.g. tms (repeatable).")
        which.add_argument("--all", action="store_true", help="Every system an erasure leaves work for.")
        parser.add_argument("--port", type=int, default=DEMO_PORT, help="The first system's port.")
        parser.add_argument("--back-office", default="http://127.0.0.1:8000",
                            help="Where the back office's API answers (default: %(default)s).")
        parser.add_argument("--deliver", action="store_true", help="Also deliver the outbox every 2 seconds.")

    def handle(self, *args, system, all, port, back_office, deliver, **options):
        codes = [each.code for each in demo_systems()] if all else system
        if not codes:
            raise CommandError("The catalogue has no system that an erasure leaves work for.")
        servers = []
        try:
            for index, code in enumerate(codes):
                try:
                    integration, token = self.connect(code, demo_url(index, port))
                except ValidationError as error:
                    raise refusal(error) from None
                servers.append(self.serve(integration, token, back_office, port + index))
            if deliver:
                threading.Thread(target=self.deliver_forever, daemon=True).start()
            self.stderr.write(f"Answering through {back_office}{' (delivering the outbox)' if deliver else ''}. "
                              "Ctrl-C stops it.")
            threading.Event().wait()  # the servers run in their threads until Ctrl-C or a signal
        except KeyboardInterrupt:
            pass
        finally:
            for server in servers:
                server.shutdown()
                server.server_close()

    def serve(self, integration: SystemIntegration, token: str, back_office: str, port: int):
        code = integration.system.code
        receiver = DemoReceiver(secret=integration.signing_secret, token=token, back_office=back_office,
                                system_name=integration.system.name,
                                log=lambda line: self.stdout.write(f"[{code}] {line}"))
        server = receiver.server("127.0.0.1", port)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.stderr.write(f"Demo receiver for {integration.system.name} on {integration.webhook_url}")
        return server

    @transaction.atomic
    def connect(self, code: str, url: str) -> tuple[SystemIntegration, str]:
        system = System.objects.filter(code=code).first()
        if system is None:
            raise CommandError(f"There is no catalogue system {code!r}.")
        integration = SystemIntegration.objects.filter(system=system).first()
        if integration is None:
            integration = integration_create(system=system, webhook_url=url, kinds=list(HANDLED_KINDS), actor=DEMO)
        elif (integration.webhook_url, integration.active) != (url, True):
            integration.webhook_url, integration.active = url, True
            record_save(instance=integration, actor=DEMO, event=AuditEvent.EDITED,
                        reason="Pointed at the local demo receiver")
        client = ApiClient.objects.active().filter(name=f"demo-{code}"[:50]).first()
        if client is None:
            token = api_client_create(name=f"demo-{code}"[:50], system=system, scopes=[Scope.TASKS_ANSWER],
                                      actor=DEMO, note="The local demo receiver (run_demo_receiver)").secret
        else:
            token = api_token_rotate(client=client, overlap=timedelta(0), actor=DEMO).secret
        return integration, token

    def deliver_forever(self) -> None:
        while True:
            try:
                report = outbox_deliver_due()
                if report.claimed:
                    self.stdout.write(f"outbox: {report.delivered} delivered, {report.failed} to retry, "
                                      f"{report.dead} dead")
            finally:
                close_old_connections()
            time.sleep(2)
