"""Audited writes shared by every app: one save or delete, with who and why, in one transaction."""

from django.db import models, transaction


@transaction.atomic
def record_save(*, instance: models.Model, actor, reason: str, allow_erased: bool = False) -> models.Model:
    """Validate and save a tracked object; its history row names ``actor`` and ``reason``.

    ``allow_erased`` is for the erasure and correction services alone: every other write to the
    records of an erased or anonymised subject is refused.
    """
    instance.full_clean()
    instance._history_user = actor
    instance._change_reason = reason
    instance.save()
    return instance


@transaction.atomic
def record_delete(*, instance: models.Model, actor, reason: str) -> None:
    """Delete a tracked object; its history keeps the last state with ``actor`` and ``reason``."""
    instance._history_user = actor
    instance._change_reason = reason
    instance.delete()
