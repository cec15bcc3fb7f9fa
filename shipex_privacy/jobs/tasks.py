"""The jobs app's own scheduled job (contract: runs.py)."""

from celery import shared_task
from django.conf import settings

from .models import JobRun
from .runs import recorded_job

BATCH = 10_000


@shared_task
@recorded_job("jobs.prune_runs")
def prune_job_runs() -> dict:
    """Delete finished job runs older than SHIPEX_JOB_RUNS_KEPT_DAYS, in batches (daily).

    Job runs are operational records, not history: they hold no personal data and no decision.
    """
    deleted = 0
    while pks := list(JobRun.objects.older_than(settings.SHIPEX_JOB_RUNS_KEPT_DAYS)
                      .order_by("pk").values_list("pk", flat=True)[:BATCH]):
        deleted += JobRun.objects.filter(pk__in=pks).delete()[0]
    return {"deleted": deleted, "kept_days": settings.SHIPEX_JOB_RUNS_KEPT_DAYS}
