"""Audited writes of the protection registers that touch more than one row."""

from datetime import timedelta

from django.db import transaction

from shipex_privacy.audit.events import Actor, AuditEvent
from shipex_privacy.audit.services import record_save

from .models import ResponsiblePerson


@transaction.atomic
def responsible_person_appoint(*, person: ResponsiblePerson, actor: Actor | None, reason: str,
                               event: AuditEvent = AuditEvent.EDITED) -> ResponsiblePerson:
    """Record a new appointment; the current one, if any, ends the day before the new one begins.

    Both rows are written in one transaction with the same actor and reason, so the register never
    has two current appointments, nor a day on which nobody was responsible between them.
    """
    person.full_clean()  # before anything is written: a refused appointment closes nothing
    previous = ResponsiblePerson.objects.select_for_update().filter(pk=getattr(person.predecessor(), "pk", None))
    for current in previous:
        current.until = person.since - timedelta(days=1)
        record_save(instance=current, actor=actor, reason=reason, event=event)
    return record_save(instance=person, actor=actor, reason=reason, event=event)
