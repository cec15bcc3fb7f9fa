import datetime

import factory
from django.utils import timezone

from shipex_privacy.catalogue.models import System
from shipex_privacy.protection.models import (
    Incident,
    IncidentField,
    IncidentSubject,
    Measure,
    ProtectionLevel,
    ResponsiblePerson,
)
from tests.history_factory import HistoryReasonFactory


class MeasureFactory(HistoryReasonFactory):
    class Meta:
        model = Measure

    title = factory.Sequence(lambda n: f"Encrypted courier tablets, depot {n}")
    kind = Measure.Kind.TECHNICAL
    description = "Full-disk encryption and remote wipe on the tablets couriers carry delivery lists on."
    owner = "Logistics IT"
    status = Measure.Status.IN_PLACE
    evidence = "MDM policy export, ticket IT-2026-114"
    last_reviewed_on = factory.LazyFunction(timezone.localdate)
    review_every_months = 12
    against_access = True
    against_copying = True


class IncidentFactory(HistoryReasonFactory):
    """A lost courier tablet: the incident ShipEx is most likely to have."""

    class Meta:
        model = Incident
        skip_postgeneration_save = True

    title = "Courier tablet with the day's delivery list lost in Chilonzor"
    description = (
        "A courier of the Chilonzor depot left his tablet in a taxi; it held the day's delivery list "
        "(recipients' names, phones and addresses). The tablet was locked with a PIN."
    )
    occurred_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=2))
    found_at = factory.LazyAttribute(lambda incident: incident.occurred_at + datetime.timedelta(hours=3))
    severity = Incident.Severity.MEDIUM
    actions_taken = "Tablet wiped remotely through MDM; courier's account password reset."
    reported_by = "Sherzod Aliyev, courier, Chilonzor depot"

    @factory.post_generation
    def fields(self, create, extracted, **kwargs):
        if not create:
            return
        for field in extracted or ():
            link = IncidentField(incident=self, field=field)
            link._change_reason = "Created by a test factory"
            link.save()

    @factory.post_generation
    def subjects(self, create, extracted, **kwargs):
        if not create:
            return
        for subject in extracted or ():
            link = IncidentSubject(incident=self, subject=subject)
            link._change_reason = "Created by a test factory"
            link.save()


class ProtectionLevelFactory(HistoryReasonFactory):
    class Meta:
        model = ProtectionLevel

    system = factory.LazyFunction(lambda: System.objects.get(code="shipex-app"))
    level = ProtectionLevel.Level.LEVEL_3
    reasoning = "Contact and delivery data of about 400,000 users; no special or biometric data."
    decided_by = "Nodira Yusupova, compliance officer"
    decided_on = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=30))
    reassess_by = factory.LazyAttribute(lambda level: level.decided_on + datetime.timedelta(days=365))


class ResponsiblePersonFactory(HistoryReasonFactory):
    class Meta:
        model = ResponsiblePerson

    kind = ResponsiblePerson.Kind.PERSON
    name = "Dilshod Karimov"
    position = "Head of the personal data protection unit"
    order_number = factory.Sequence(lambda n: f"{47 + n}-P")
    order_date = datetime.date(2026, 1, 12)
    since = datetime.date(2026, 1, 15)
    phone = "+998712070047"
    email = "dpo@shipex.uz"
    address = "Tashkent, Yunusobod district, Amir Temur avenue 108"
