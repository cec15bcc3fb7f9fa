"""Fill a development database with realistic subjects and one staff login per role."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import BaseCommand, CommandError
from django.db import transaction

from shipex_privacy.accounts.roles import AUDITOR, COMPLIANCE_OFFICER, SUPPORT_AGENT
from shipex_privacy.audit.events import AuditEvent, SystemActor
from shipex_privacy.subjects.models import DataSubject
from shipex_privacy.subjects.services import subject_register

DEMO = SystemActor("demo")  # history names the demo loader, not a person

DEMO_PASSWORD = "shipex-demo"  # noqa: S105 — printed on purpose; refused outside DEBUG
DEMO_STAFF = [
    ("compliance", "Nodira", "Yusupova", COMPLIANCE_OFFICER),
    ("support", "Jasur", "Tursunov", SUPPORT_AGENT),
    ("auditor", "Gulnora", "Saidova", AUDITOR),
]
REASON = "Demo data (load_demo_data)"


class Command(BaseCommand):
    help = "Create demo subjects and one staff account per role (development only)."

    def add_arguments(self, parser):
        parser.add_argument("--subjects", type=int, default=200, help="How many subjects to create.")
        parser.add_argument("--seed", type=int, default=547, help="Random seed, for the same data each time.")

    def handle(self, *, subjects: int, seed: int, **options):
        if not settings.DEBUG:
            raise CommandError("load_demo_data creates accounts with a known password: it runs only with DEBUG on.")
        if subjects < 0:
            raise CommandError("--subjects must be zero or more.")
        try:
            from factory.random import reseed_random

            from tests.subjects.factories import AddressFactory, DataSubjectFactory
        except ImportError as exc:
            raise CommandError(f"The demo needs the development packages (pip install -e '.[dev]'): {exc}") from exc

        self.create_staff()
        if DataSubject.objects.exists():
            self.stdout.write("Subjects already present; none added.")
        else:
            reseed_random(seed)
            with transaction.atomic():
                for number in range(subjects):
                    subject = DataSubjectFactory.build()
                    addresses = [AddressFactory.build(subject=subject) for _ in range(1 + number % 2)]
                    subject_register(subject=subject, addresses=addresses, actor=DEMO, event=AuditEvent.DEMO,
                                     reason=REASON)
                    if (number + 1) % 50 == 0:
                        self.stdout.write(f"  {number + 1}/{subjects} subjects")
            self.stdout.write(self.style.SUCCESS(f"Created {subjects} demo subjects."))

        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
        for username, _first, _last, role in DEMO_STAFF:
            self.stdout.write(f"  {username:<11} {role}")

    def create_staff(self) -> None:
        User = get_user_model()
        for username, first_name, last_name, role in DEMO_STAFF:
            user, _created = User.objects.get_or_create(
                username=username,
                defaults={"first_name": first_name, "last_name": last_name, "is_staff": True,
                          "email": f"{username}@shipex.uz"},
            )
            user.set_password(DEMO_PASSWORD)
            user.save()
            user.groups.set([Group.objects.get(name=role)])
