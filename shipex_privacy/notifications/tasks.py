"""Jobs of the notifications app: the staff's morning digest."""

from celery import shared_task

from shipex_privacy.jobs.runs import recorded_job

from .services import send_morning_digests


@shared_task
@recorded_job("notifications.morning_digests")
def morning_digests() -> dict:
    """Each staff member's digest, at most once a day (a second run that day sends nothing)."""
    summary = send_morning_digests()
    return {"day": summary.day.isoformat(), "sent": summary.sent, "already_sent": summary.already_sent,
            "nothing_to_send": summary.nothing_to_send, "failed": summary.failed}
