"""History for every model that holds personal data or a compliance decision.

Use ``audited_history()`` instead of a bare ``HistoricalRecords()``: it stores the acting user as
id and username (no foreign key, so removing a staff account never touches history), the
request's IP address, and the change reason, in tables the database keeps append-only.
"""

from django.contrib.auth import get_user_model
from django.db import models
from simple_history.models import HistoricalRecords

from .models import AuditedHistoryModel


def _get_history_user(historical_instance):
    if historical_instance.history_user_id is None:
        return None
    return get_user_model().objects.filter(pk=historical_instance.history_user_id).first()


def _set_history_user(historical_instance, user) -> None:
    """A staff member is kept as id and username; a ``SystemActor`` as its name alone (it has no id)."""
    if user is None:
        return
    historical_instance.history_user_id = getattr(user, "pk", None)
    historical_instance.history_username = user.get_username()


def audited_history(**options) -> HistoricalRecords:
    return HistoricalRecords(
        bases=[AuditedHistoryModel],
        history_user_id_field=models.IntegerField(null=True, blank=True, db_index=True),
        history_user_getter=_get_history_user,
        history_user_setter=_set_history_user,
        **options,
    )


def stamp_request_address(sender, history_instance, **kwargs) -> None:
    """Record the acting request's address on history rows written during a request."""
    if not isinstance(history_instance, AuditedHistoryModel):
        return
    request = getattr(HistoricalRecords.context, "request", None)
    if request is not None:
        history_instance.history_ip = request.META.get("REMOTE_ADDR") or None


def is_append_only(model) -> bool:
    """History tables (and, via APPEND_ONLY, logs) whose rows are never updated or deleted."""
    return getattr(model, "APPEND_ONLY", False) or model in HistoricalRecords.m2m_models.values()
