"""Jobs of the integrations app: delivering the outbox.

The outbox rows are the queue of record; a task message only wakes a worker. If the broker is down,
``deliver_outbox.delay()`` fails but nothing is lost: the rows wait and the next run delivers them.
"""

from celery import shared_task

from shipex_privacy.jobs.runs import recorded_job

from .services import outbox_deliver_due


@shared_task(ignore_result=True)
@recorded_job("integrations.deliver_outbox")
def deliver_outbox(limit: int = 100) -> dict:
    """Deliver the messages that are due; safe to run in several workers at once (each claims its own)."""
    report = outbox_deliver_due(limit=limit)
    return {"delivered": report.delivered, "failed": report.failed, "dead": report.dead}
