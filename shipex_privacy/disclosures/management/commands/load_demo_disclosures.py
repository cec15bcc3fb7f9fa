"""Demo recipients, services used and disclosures in each state (development only)."""

from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from shipex_privacy.accounts.roles import COMPLIANCE_OFFICER
from shipex_privacy.audit.events import AuditEvent, SystemActor
from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.models import PersonalDataField, Purpose, Service, TransferMechanism
from shipex_privacy.disclosures import services
from shipex_privacy.disclosures.models import Disclosure, Recipient
from shipex_privacy.subjects.models import DataSubject, ServiceUse

DEMO = SystemActor("demo")  # history names the demo loader, not a person

DEMO_PASSWORD = "shipex-demo"  # noqa: S105 — the demo's published password; refused outside DEBUG
REASON = "Demo data (load_demo_disclosures)"
# Which services the demo subjects use, in turn: most several at once, so that a 1.4.3.2
# disclosure can pass its check that each subject uses the service it serves.
SERVICES_IN_USE = [
    ("domestic-delivery", "sms-notifications"),
    ("domestic-delivery", "cash-on-delivery", "sms-notifications"),
    ("domestic-delivery", "international-delivery"),
    ("domestic-delivery", "cash-on-delivery"),
    ("domestic-delivery",),
]


class Command(BaseCommand):
    help = "Create demo recipients and disclosures (development only)."

    def handle(self, **options):
        if not settings.DEBUG:
            raise CommandError("load_demo_disclosures runs only with DEBUG on.")
        if Recipient.objects.exists():
            self.stdout.write("Recipients already present; no demo disclosures added.")
            return
        officer = get_user_model().objects.filter(username="compliance").first()
        if officer is None or not DataSubject.objects.exists():
            raise CommandError("Load the demo subjects and staff first: manage.py load_demo_data")
        with transaction.atomic():
            second = self.second_officer()
            services_by_code = Service.objects.in_bulk(field_name="code")
            delivery, cash = services_by_code["domestic-delivery"], services_by_code["cash-on-delivery"]
            subjects = list(DataSubject.objects.order_by("pk")[:60])
            for number, subject in enumerate(subjects):
                for code in SERVICES_IN_USE[number % len(SERVICES_IN_USE)]:
                    record_save(instance=ServiceUse(subject=subject, service=services_by_code[code],
                                                    started_on=timezone.localdate(subject.registered_at)),
                                actor=DEMO, event=AuditEvent.DEMO, reason=REASON)
            courier, court, research = self.recipients(delivery, cash)
            fields = {field.code: field for field in PersonalDataField.objects.all()}

            court_order = self.draft(officer, court, Disclosure.Ground.LAW, "1.3.2.2", subjects[:3],
                                     [fields["identity.full_name"], fields["contact.phone"],
                                      fields["document.passport"]],
                                     legal_authority="Toshkent shahar Yunusobod tumani sudi",
                                     legal_document_number="2-1187/2026",
                                     legal_document_date=timezone.localdate() - timedelta(days=6),
                                     recipient_request="Court ruling on a disputed parcel, case 2-1187/2026")
            services.disclosure_submit(disclosure=court_order, actor=officer)
            services.disclosure_approve(disclosure=court_order, approver=second)
            services.disclosure_send(disclosure=court_order, actor=officer)

            handover = self.draft(officer, courier, Disclosure.Ground.CONTRACT, "1.3.2.2", subjects[3:8],
                                  [fields["shipment.recipient_name"], fields["shipment.recipient_phone"],
                                   fields["shipment.delivery_address"]], service=delivery)
            services.disclosure_submit(disclosure=handover, actor=officer)

            # Sent to the courier three weeks ago for cash on delivery: the subjects had to be told within
            # three days (ZRU-547 art. 23); one was, by SMS, the others are overdue.
            cash_users = [subject for number, subject in enumerate(subjects)
                          if "cash-on-delivery" in SERVICES_IN_USE[number % len(SERVICES_IN_USE)]][:4]
            sent_at = timezone.now() - timedelta(days=21)
            collection = self.draft(officer, courier, Disclosure.Ground.CONTRACT, "1.3.2.2", cash_users,
                                    [fields["shipment.recipient_name"], fields["shipment.recipient_phone"],
                                     fields["shipment.delivery_address"]], service=cash)
            services.disclosure_submit(disclosure=collection, actor=officer)
            services.disclosure_approve(disclosure=collection, approver=second)
            services.disclosure_send(disclosure=collection, actor=officer, sent_at=sent_at)
            services.notification_mark_sent(disclosed=collection.disclosed_subjects.order_by("pk").first(),
                                            channel="sms", at=sent_at + timedelta(days=1), actor=officer)

            study = self.draft(second, research, Disclosure.Ground.CONSENT, "1.3.2.4", subjects[8:11],
                               [fields["contact.email"], fields["technical.pages"]])
            services.disclosure_submit(disclosure=study, actor=second)
        self.stdout.write(self.style.SUCCESS(
            "Demo disclosures: one sent court order, a cash-on-delivery list sent to a courier three weeks ago "
            "whose subjects are mostly not yet notified, one handover to a courier awaiting approval, one research "
            f"request whose ground fails. Second officer for four-eyes approval: {second.username} "
            f"(password {DEMO_PASSWORD})."
        ))

    def second_officer(self):
        user, _created = get_user_model().objects.get_or_create(
            username="compliance2", defaults={"first_name": "Malika", "last_name": "Rahimova", "is_staff": True,
                                              "email": "compliance2@shipex.uz"})
        user.set_password(DEMO_PASSWORD)
        user.save()
        user.groups.set([Group.objects.get(name=COMPLIANCE_OFFICER)])
        return user

    def recipients(self, delivery, cash):
        courier = record_save(instance=Recipient(
            legal_name="“Tez Yetkazish Servis” MChJ", tin="305123456", kind="processor",
            contract_reference="DPA-2025/014", contract_starts_on=date(2025, 1, 1), review_on=date(2027, 1, 1),
        ), actor=DEMO, event=AuditEvent.DEMO, reason=REASON)
        courier.services.set([delivery, cash])
        court = record_save(instance=Recipient(
            legal_name="Toshkent shahar Yunusobod tumani fuqarolik ishlari sudi", kind="state_authority",
        ), actor=DEMO, event=AuditEvent.DEMO, reason=REASON)
        research = record_save(instance=Recipient(
            legal_name="Logistics Research Lab LLP", country="KZ", kind="research_partner",
            transfer_mechanism=TransferMechanism.STANDARD_CLAUSES, transfer_date=date(2026, 4, 15),
            transfer_reference="Standard contractual clauses, agreement LR-2026/3",
        ), actor=DEMO, event=AuditEvent.DEMO, reason=REASON)
        return courier, court, research

    def draft(self, author, recipient, ground, clause, subjects, fields, **values) -> Disclosure:
        disclosure = record_save(instance=Disclosure(
            recipient=recipient, ground=ground, purpose=Purpose.objects.get(clause=clause),
            delivery_method=Disclosure.Delivery.SECURE_EMAIL, created_by_id=author.pk,
            created_by_username=author.username, **values,
        ), actor=author, event=AuditEvent.DEMO, reason=REASON)
        disclosure.fields.set(fields)
        services.disclosure_set_subjects(disclosure=disclosure, subjects=subjects, actor=author, reason=REASON)
        return disclosure
