"""Scheduled jobs of the requests' workflow (contract: shipex_privacy/jobs/runs.py)."""

import logging

from celery import shared_task

from shipex_privacy.disclosures.models import DisclosedSubject
from shipex_privacy.jobs.runs import recorded_job

from .models import SubjectRequest
from .package_files import sweep_package_files

logger = logging.getLogger(__name__)


@shared_task
@recorded_job("rights_requests.sweep_package_files")
def sweep_packages() -> dict:
    """Remove orphan and stale access-package files, as ``manage.py sweep_package_files`` does (daily)."""
    sweep = sweep_package_files()
    return {"orphans_removed": len(sweep.orphans), "temporary_removed": len(sweep.stale), "kept": sweep.kept}


@shared_task
@recorded_job("rights_requests.check_deadlines")
def check_deadlines() -> dict:
    """Count the open requests that are overdue or due within 3 days (hourly); the staff digests
    and alerts read the same QuerySet methods."""
    overdue = SubjectRequest.objects.overdue().count()
    due_soon = SubjectRequest.objects.due_soon(days=3).count()
    if overdue:
        logger.warning("%s data-subject requests are overdue.", overdue)
    return {"overdue": overdue, "due_within_3_days": due_soon}


@shared_task
@recorded_job("rights_requests.check_notifications")
def check_notifications() -> dict:
    """Count subjects not yet told of a disclosure past the law's time (ZRU-547 art. 23; hourly)."""
    overdue = DisclosedSubject.objects.notifications_overdue().count()
    if overdue:
        logger.warning("%s subjects have not been notified of a disclosure in time.", overdue)
    return {"notifications_overdue": overdue}
