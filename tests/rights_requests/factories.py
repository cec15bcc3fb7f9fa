import factory
from django.utils import timezone

from shipex_privacy.rights_requests.models import DeadlineRule, SubjectRequest
from tests.history_factory import HistoryReasonFactory


class SubjectRequestFactory(HistoryReasonFactory):
    """A new request as it arrived, due by the seeded deadline of its kind (no service involved)."""

    class Meta:
        model = SubjectRequest

    kind = SubjectRequest.Kind.ACCESS
    channel = SubjectRequest.Channel.APP
    received_at = factory.LazyFunction(timezone.now)
    requester_name = "Aziza Tursunova"
    requester_contact = "+998 90 123 45 67"
    due_at = factory.LazyAttribute(lambda request: DeadlineRule.objects.get(kind=request.kind).due_at(
        request.received_at))
