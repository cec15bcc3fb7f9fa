import datetime

import factory
from django.utils import timezone

from shipex_privacy.jobs.models import JobRun


class JobRunFactory(factory.django.DjangoModelFactory):
    """A finished run of the audit seal, as a worker on the second machine records it."""

    class Meta:
        model = JobRun

    job = "audit.seal"
    started_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(seconds=3))
    finished_at = factory.LazyAttribute(lambda run: run.started_at + datetime.timedelta(seconds=2))
    duration = factory.LazyAttribute(lambda run: run.finished_at - run.started_at)
    outcome = JobRun.Outcome.SUCCEEDED
    summary = factory.LazyFunction(lambda: {"seals": 1, "digests": 42, "head_seal": 7})
    host = "worker-2.shipex.internal:4242"
