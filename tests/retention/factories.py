import datetime

import factory
from django.utils import timezone

from shipex_privacy.catalogue.models import Service
from shipex_privacy.consents.services import policy_accept
from shipex_privacy.retention.models import LegalHold
from shipex_privacy.subjects.models import DataSubject, ServiceUse
from tests.consents.factories import PolicyVersionFactory
from tests.history_factory import HistoryReasonFactory
from tests.subjects.factories import AddressFactory, DataSubjectFactory

YEARS_AGO_4 = timezone.now() - datetime.timedelta(days=4 * 365)


class LegalHoldFactory(HistoryReasonFactory):
    """An active legal hold, as the prosecutor's office or a court would order it."""

    class Meta:
        model = LegalHold

    subject = factory.SubFactory(DataSubjectFactory)
    reason = "Customs dispute over shipment SX-2026-000123"
    legal_reference = "Tashkent city economic court, case 4-1001-2601/123"


class ClosedSubjectFactory(DataSubjectFactory):
    """A subject whose account was closed ``closed_days_ago`` days ago (default: past 3 years)."""

    class Params:
        closed_days_ago = 4 * 365

    status = DataSubject.Status.CLOSED
    status_changed_at = factory.LazyAttribute(
        lambda subject: timezone.now() - datetime.timedelta(days=subject.closed_days_ago))


class ServiceUseFactory(HistoryReasonFactory):
    class Meta:
        model = ServiceUse

    subject = factory.SubFactory(DataSubjectFactory)
    service = factory.LazyFunction(lambda: Service.objects.order_by("code").first())
    started_on = datetime.date(2024, 3, 1)


def closed_with_records(**values) -> DataSubject:
    """A subject closed four years ago (account-3y has run out), with addresses, a service and an acceptance."""
    subject = ClosedSubjectFactory(**values)
    AddressFactory.create_batch(2, subject=subject)
    ServiceUseFactory(subject=subject)
    policy = PolicyVersionFactory(published=True, effective_date=datetime.date(2020, 1, 1))
    policy_accept(subject=subject, version=policy, accepted_at=YEARS_AGO_4 - datetime.timedelta(days=300),
                  channel="web", actor=None, ip_address="84.54.70.12", user_agent="Mozilla/5.0 (Windows NT 10.0)")
    return subject
