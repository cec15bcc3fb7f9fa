"""Scheduled retention job (contract: shipex_privacy/jobs/runs.py)."""

from celery import shared_task
from django.core.exceptions import ValidationError

from shipex_privacy.jobs.runs import recorded_job

from .services import retention_apply

SCHEDULER = "scheduler"  # the run's "started by", as manage.py apply_retention without --as


class RetentionRunFailed(Exception):
    pass


@shared_task
@recorded_job("retention.apply")
def apply_retention() -> dict:
    """Apply the catalogue's retention rules, as ``manage.py apply_retention`` does (nightly)."""
    try:
        run = retention_apply(dry_run=False, started_by=SCHEDULER)
    except ValidationError as error:
        if error.code == "run_in_progress":  # a run started by hand holds the run lock: nothing to do
            return {"skipped": " ".join(error.messages)}
        raise
    totals = {"retention_run": run.pk, "deleted": 0, "anonymised": 0, "held": 0, "failed": 0}
    for count in run.counts.all():
        for key in ("deleted", "anonymised", "held", "failed"):
            totals[key] += getattr(count, key)
    if run.error:
        raise RetentionRunFailed(f"Retention run #{run.pk} finished with errors; the records named were left "
                                 f"unchanged:\n{run.error}")
    return totals
