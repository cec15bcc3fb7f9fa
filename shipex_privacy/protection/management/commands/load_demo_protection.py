"""Demo responsible person, a protection level for each catalogue system, the measures register as
it stands after a year (login protection in place, two reviews overdue) and a few incidents
(development only).

Every value is made up for the demo. What the registers rest on (resolution no. 570, arts. 8 and
31 of ZRU-547, orders 19-mx and 20-mx) is shown to staff with its source, to be confirmed by counsel.
"""

from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.management import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from shipex_privacy.audit.events import AuditEvent, SystemActor
from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.models import PersonalDataField, System
from shipex_privacy.protection.models import (
    Incident,
    IncidentField,
    IncidentSubject,
    Measure,
    ProtectionLevel,
    ResponsiblePerson,
)
from shipex_privacy.protection.services import responsible_person_appoint
from shipex_privacy.subjects.models import DataSubject

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
# Measures whose yearly review the demo lets slip (title: months since the last review).
OVERDUE_REVIEWS = {"Encryption of backups": 14, "Quarterly review of staff access": 5}
# A system added to the catalogue later gets a level too, so the demo leaves no system unassessed.
OTHER = (3, "Assessed with the other internal systems for the demo.", 1, 12)


def months_ago(today: date, months: int) -> date:
    return today - timedelta(days=round(months * 30.5))


class Command(BaseCommand):
    help = "Create a demo responsible person (with a predecessor) and a protection level per system."

    def handle(self, **options):
        if not settings.DEBUG:
            raise CommandError("load_demo_protection runs only with DEBUG on.")
        # Each part looks for its own earlier run, so a second `make demo` adds nothing.
        with transaction.atomic():
            self.measures()
        if Incident.objects.exists():
            self.stdout.write("Incidents already present; none added.")
        else:
            with transaction.atomic():
                self.incidents()
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

    def measures(self) -> None:
        """Login protection is deployed (README "Login protection"); two reviews have slipped."""
        today = timezone.localdate()
        login = Measure.objects.filter(title="Login protection for staff accounts",
                                       status=Measure.Status.PLANNED).first()
        if login is not None:
            login.status = Measure.Status.IN_PLACE
            login.evidence = ("Lock-out, two-factor sign-in and idle sessions: README “Login protection”; "
                              "config/settings/base.py; tests/accounts and tests/security")
            login.last_reviewed_on = today - timedelta(days=40)
            login.full_clean()
            record_save(instance=login, actor=DEMO, event=AuditEvent.DEMO, reason=REASON)
        for title, months_since in OVERDUE_REVIEWS.items():
            measure = Measure.objects.filter(title=title).first()
            overdue_from = months_ago(today, months_since)
            if measure is None or measure.last_reviewed_on <= overdue_from:
                continue
            measure.last_reviewed_on = overdue_from
            measure.full_clean()
            record_save(instance=measure, actor=DEMO, event=AuditEvent.DEMO, reason=REASON)
        self.stdout.write(f"Measures: login protection in place, {Measure.objects.overdue().count()} reviews overdue.")

    def incidents(self) -> None:
        now = timezone.now()
        fields = PersonalDataField.objects.in_bulk(field_name="code")
        subjects = list(DataSubject.objects.filter(status=DataSubject.Status.ACTIVE).order_by("pk")[40:46])
        for values, codes, affected in (
            (dict(title="Courier tablet lost with the day's delivery list",
                  description="A courier of the Chilonzor depot lost a tablet on the bus. It showed 37 recipients' "
                              "names, phones and addresses for that day. Found by the courier at the end of the "
                              "shift; the tablet was locked with a PIN.",
                  occurred_at=at(now, -62, 9), found_at=at(now, -62, 18), severity=Incident.Severity.MEDIUM,
                  subject_count=37, reported_by="Courier, Chilonzor depot",
                  actions_taken="Tablet wiped remotely the same evening; delivery app session revoked; couriers "
                                "reminded to keep tablets in the depot bag.",
                  authority_notified_at=at(now, -61, 11), subjects_notified_at=at(now, -60, 10),
                  notification_details="Inspection notified, reference 05/2-1184; recipients told by SMS.",
                  status=Incident.Status.CLOSED, closed_at=at(now, -45, 16)),
             ("shipment.recipient_name", "shipment.recipient_phone", "shipment.delivery_address"), subjects[:3]),
            (dict(title="Invoice e-mailed to the wrong customer",
                  description="An invoice with another customer's name and payment history was sent to a "
                              "customer with a similar e-mail address. The customer who received it told support.",
                  occurred_at=at(now, -9, 14), found_at=at(now, -8, 10), severity=Incident.Severity.LOW,
                  reported_by="Support agent (customer's call)",
                  actions_taken="The receiving customer confirmed deletion in writing; billing now checks the "
                                "account id, not the e-mail, before sending an invoice.",
                  status=Incident.Status.CONTAINED),
             ("identity.full_name", "payment.history"), subjects[3:4]),
            (dict(title="Unusual export of subjects from the CRM",
                  description="The CRM's log shows an export of about 1,200 customer records by a contractor's "
                              "account at night. Not yet known whether it was authorised.",
                  occurred_at=at(now, -1, 2), found_at=at(now, 0, 8), severity=Incident.Severity.HIGH,
                  subject_count=1200, reported_by="Information security (CRM log review)",
                  actions_taken="Contractor's account suspended; CRM vendor asked for the full access log.",
                  status=Incident.Status.OPEN),
             ("identity.full_name", "contact.phone", "contact.email"), ()),
        ):
            incident = Incident(**values)
            incident.full_clean()
            record_save(instance=incident, actor=DEMO, event=AuditEvent.DEMO, reason=REASON)
            for code in codes:
                record_save(instance=IncidentField(incident=incident, field=fields[code]), actor=DEMO,
                            event=AuditEvent.DEMO, reason=REASON)
            for subject in affected:
                record_save(instance=IncidentSubject(incident=incident, subject=subject), actor=DEMO,
                            event=AuditEvent.DEMO, reason=REASON)
        self.stdout.write("Incidents: one closed, one contained, one open since this morning.")


def at(now: datetime, days: int, hour: int) -> datetime:
    """``days`` from today at ``hour`` o'clock, Tashkent time, never later than now."""
    day = timezone.localdate(now) + timedelta(days=days)
    return min(timezone.make_aware(datetime.combine(day, time(hour))), now - timedelta(minutes=5))
