"""Audited writes shared by every app: one save or delete, with who, what and why, in one transaction.

This is the one place where the actor, the event and the reason are stamped on the record for its
history row (audit/history.py turns the actor into the row's user id and name; audit/trail.py
copies the event onto the row's trail entry).
"""

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from .events import Actor, AuditEvent


def refuse_erased(instance: models.Model) -> None:
    """Raise ValidationError when ``instance`` belongs to an erased or anonymised subject.

    The model says so (``accepts_edits(lock=True)``), reading the subject's state under a row lock,
    so a save that started before an erasure committed cannot bring the erased data back.
    """
    check = getattr(instance, "accepts_edits", None)
    if check is not None and not check(lock=True):
        raise ValidationError(
            _("The data of this subject was erased or anonymised; it changes only through an erasure or a "
              "correction request. Nothing was saved."), code="erased")


@transaction.atomic
def record_save(*, instance: models.Model, actor: Actor | None, reason: str,
                event: AuditEvent = AuditEvent.EDITED, allow_erased: bool = False) -> models.Model:
    """Validate and save a tracked object; its history row names ``actor``, ``event`` and ``reason``.

    ``allow_erased`` is for the erasure and correction services alone: every other write to the
    records of an erased or anonymised subject is refused.
    """
    if not allow_erased:
        refuse_erased(instance)
    instance.full_clean()
    _stamp(instance, actor=actor, reason=reason, event=event)
    instance.save()
    return instance


@transaction.atomic
def record_delete(*, instance: models.Model, actor: Actor | None, reason: str,
                  event: AuditEvent = AuditEvent.DELETED, allow_erased: bool = False) -> None:
    """Delete a tracked object; its history keeps the last state with ``actor``, ``event`` and ``reason``."""
    if not allow_erased:
        refuse_erased(instance)
    _stamp(instance, actor=actor, reason=reason, event=event)
    instance.delete()


def _stamp(instance: models.Model, *, actor: Actor | None, reason: str, event: AuditEvent) -> None:
    instance._history_user = actor
    instance._change_reason = str(reason)
    instance._history_event = AuditEvent(event)  # a code that is not an AuditEvent fails here, before the write
