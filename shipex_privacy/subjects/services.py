"""Audited writes about data subjects that cross models."""

from django.db import transaction

from shipex_privacy.audit.events import AuditEvent
from shipex_privacy.audit.services import record_save

from .models import Address, DataSubject


@transaction.atomic
def subject_register(*, subject: DataSubject, addresses: list[Address], actor, reason: str,
                     event: AuditEvent = AuditEvent.EDITED) -> DataSubject:
    """Register a subject with its addresses; every row's history names ``actor``, ``event`` and ``reason``."""
    record_save(instance=subject, actor=actor, event=event, reason=reason)
    for address in addresses:
        address.subject = subject
        record_save(instance=address, actor=actor, event=event, reason=reason)
    return subject
