"""Scheduled audit jobs (contract: shipex_privacy/jobs/runs.py)."""

import datetime
import logging

from celery import shared_task
from django.utils import timezone

from shipex_privacy.jobs.runs import recorded_job

from .partitions import MONTHS_AHEAD, make_partitions_ahead
from .tamper import seal_next, verification_failed, verify

logger = logging.getLogger(__name__)

SETTLE = datetime.timedelta(seconds=300)  # as seal_audit's --settle-seconds default
BATCH = 10_000


@shared_task
@recorded_job("audit.seal")
def seal_audit() -> dict:
    """Seal the settled digests into the chain, as ``manage.py seal_audit`` does (every 5 minutes)."""
    settled_before = timezone.now() - SETTLE
    seals = digests = 0
    head = None
    while (seal := seal_next(batch_size=BATCH, settled_before=settled_before)) is not None:
        seals, digests, head = seals + 1, digests + seal.digest_count, seal
    if head is not None:
        # Shipped with the worker's log, outside the database: it proves the newest seal (docs/audit.md).
        logger.info("Chain head: seal #%s %s", head.pk, head.mac)
    return {"seals": seals, "digests": digests, "head_seal": head.pk if head else None}


class AuditRecordAltered(Exception):
    """verify_audit found rows changed, removed or inserted: the job run is recorded as failed."""


@shared_task
@recorded_job("audit.verify")
def verify_audit() -> dict:
    """Verify the whole record, as ``manage.py verify_audit`` does (nightly); the auditor's home
    shows the last run. Findings name tables and row ids, never personal data."""
    report = verify()
    if report.findings:
        verification_failed.send(sender=AuditRecordAltered, report=report)  # the auditors' alert
        raise AuditRecordAltered("; ".join(str(finding) for finding in report.findings[:20]))
    return {"rows": report.rows_checked, "seals": report.seals_checked,
            "not_sealed_yet": report.unsealed_digests, "head": report.head_mac}


@shared_task
@recorded_job("audit.partitions")
def make_access_log_partitions() -> dict:
    """Make the access log's partitions for this month and the next ones ahead (daily; PostgreSQL).

    Idempotent; a month whose entries already went to the DEFAULT partition is reported, not made."""
    found = make_partitions_ahead(MONTHS_AHEAD)
    return {"created": found["created"], "existing": len(found["exists"]), "in_default": found["in_default"]}
