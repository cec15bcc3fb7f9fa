"""Demo responsible person and a protection level for each catalogue system (development only).

Every value is made up for the demo. What the registers rest on (resolution no. 570, arts. 8 and
31 of ZRU-547, orders 19-mx and 20-mx) is shown to staff with its source, to be confirmed by counsel.
"""

from datetime import date, timedelta

from django.conf import settings
from django.core.management import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from shipex_privacy.audit.events import AuditEvent, SystemActor
from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.models import System
from shipex_privacy.protection.models import ProtectionLevel, ResponsiblePerson
from shipex_privacy.protection.services import responsible_person_appoint

DEMO = SystemActor("demo")  # history names the demo loader, not a person
REASON = "Demo data (load_demo_protection)"
DECIDED_BY = "Nodira Yusupova, compliance officer"

# system code: (level, reasoning, months since the decision, months until the re-assessment is due)
LEVELS = {
    "shipex-app": (2, "Accounts of every user: names, phones, addresses, passport data for customs.", 3, 12),
    "shipex-web": (3, "Web cabinet on the same accounts; stores no documents of its own.", 3, 12),
    "tms": (3, "Recipients' names, phones and addresses on delivery lists; couriers' tablets.", 14, 12),
    "customs": (2, "Passport data and declarations of international shipments.", 6, 12),
    "billing": (3, "Invoices and payment references; card data stays with the payment provider.", 6, 12),
    "crm": (3, "Call records and chats with customers.", 6, 12),
    "web-analytics": (4, "Depersonalised counter data only (1.3.2.6).", 13, 12),
    "privacy-office": (2, "This back office: requests, consents and disclosures of every subject.", 2, 12),
}
# A system added to the catalogue later gets a level too, so the demo leaves no system unassessed.
OTHER = (3, "Assessed with the other internal systems for the demo.", 1, 12)


def months_ago(today: date, months: int) -> date:
    return today - timedelta(days=round(months * 30.5))


class Command(BaseCommand):
    help = "Create a demo responsible person (with a predecessor) and a protection level per system."

    def handle(self, **options):
        if not settings.DEBUG:
            raise CommandError("load_demo_protection runs only with DEBUG on.")
        if ResponsiblePerson.objects.exists() or ProtectionLevel.objects.exists():
            self.stdout.write("Responsible person or protection levels already present; nothing added.")
            return
        today = timezone.localdate()
        with transaction.atomic():
            for person in (
                ResponsiblePerson(name="Bobur Nazarov", position="Head of information security", order_number="12-P",
                                  order_date=date(2024, 2, 1), since=date(2024, 2, 5), phone="+998712070012",
                                  email="security@shipex.uz",
                                  address="Tashkent, Yunusobod district, Amir Temur avenue 108"),
                ResponsiblePerson(kind=ResponsiblePerson.Kind.UNIT, name="Personal data protection unit",
                                  position="Compliance department", order_number="47-P",
                                  order_date=date(2026, 1, 12), since=date(2026, 1, 15), phone="+998712070047",
                                  email="dpo@shipex.uz",
                                  address="Tashkent, Yunusobod district, Amir Temur avenue 108, office 4"),
            ):
                responsible_person_appoint(person=person, actor=DEMO, reason=REASON, event=AuditEvent.DEMO)
            made = 0
            for system in System.objects.order_by("code"):
                level, reasoning, since, every = LEVELS.get(system.code, OTHER)
                decided_on = months_ago(today, since)
                record_save(instance=ProtectionLevel(
                    system=system, level=level, reasoning=reasoning, decided_by=DECIDED_BY, decided_on=decided_on,
                    reassess_by=decided_on + timedelta(days=round(every * 30.5)),
                ), actor=DEMO, event=AuditEvent.DEMO, reason=REASON)
                made += 1
        overdue = ProtectionLevel.objects.overdue().count()
        self.stdout.write(self.style.SUCCESS(
            f"Demo protection: a responsible unit (and the person it replaced), {made} protection levels, "
            f"{overdue} of them due for re-assessment."
        ))
