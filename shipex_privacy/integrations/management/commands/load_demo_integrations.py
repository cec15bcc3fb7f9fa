"""Integrate the demo's systems with the local demo receivers (development only).

Every system an erasure leaves work for gets a webhook integration at http://127.0.0.1:8765/,
:8766/, … (one port each, in code order), which ``run_demo_receiver --all`` (started by ``make demo``)
answers: a new erasure or access request then goes to them through the outbox, they answer through
the API, and an erasure closes by itself once the last one has.
"""

from django.conf import settings
from django.core.management import BaseCommand, CommandError
from django.db import transaction

from shipex_privacy.audit.events import SystemActor
from shipex_privacy.integrations.demo_receiver import demo_systems, demo_url
from shipex_privacy.integrations.models import HANDLED_KINDS, SystemIntegration
from shipex_privacy.integrations.services import integration_create

DEMO = SystemActor("demo")  # history names the demo loader, not a person


class Command(BaseCommand):
    help = "Give each system an erasure leaves work for a webhook integration at a local demo receiver."

    def handle(self, **options):
        if not settings.DEBUG:
            raise CommandError("load_demo_integrations runs only with DEBUG on.")
        made = []
        with transaction.atomic():
            for index, system in enumerate(demo_systems()):
                if SystemIntegration.objects.filter(system=system).exists():
                    continue
                made.append(integration_create(system=system, webhook_url=demo_url(index),
                                               kinds=list(HANDLED_KINDS), actor=DEMO))
        if not made:
            self.stdout.write("Integrations already present; none added.")
            return
        self.stdout.write(self.style.SUCCESS(
            "Demo integrations: " + ", ".join(f"{each.system.code} → {each.webhook_url}" for each in made)
            + ". `manage.py run_demo_receiver --all` answers them (make demo starts it)."))
