"""Audited writes shared by every app: one save or delete, with who and why, in one transaction."""

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _


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
def record_save(*, instance: models.Model, actor, reason: str, allow_erased: bool = False) -> models.Model:
    """Validate and save a tracked object; its history row names ``actor`` and ``reason``.

    ``allow_erased`` is for the erasure and correction services alone: every other write to the
    records of an erased or anonymised subject is refused.
    """
    if not allow_erased:
        refuse_erased(instance)
    instance.full_clean()
    instance._history_user = actor
    instance._change_reason = reason
    instance.save()
    return instance


@transaction.atomic
def record_delete(*, instance: models.Model, actor, reason: str, allow_erased: bool = False) -> None:
    """Delete a tracked object; its history keeps the last state with ``actor`` and ``reason``."""
    if not allow_erased:
        refuse_erased(instance)
    instance._history_user = actor
    instance._change_reason = reason
    instance.delete()
