import os

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


def build_package(request, actor):
    """Build an access package as a committed transaction would leave its file: moved into place
    when the row commits. A test's transaction never commits, so only that move is run here (the
    audit's own commit callbacks are not this test's business)."""
    from django.test import TestCase

    from shipex_privacy.rights_requests.access_package import access_package_build

    with TestCase.captureOnCommitCallbacks() as callbacks:
        package = access_package_build(request=request, actor=actor)
    for callback in callbacks:
        if getattr(callback, "func", None) is os.replace:
            callback()
    return package
