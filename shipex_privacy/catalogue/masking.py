"""The one masking rule: the catalogue's bound entries say which fields are masked, and how.

Every page, diff and export that shows a bound value to staff who only read it asks here:
``mask_value(Model, "phone", value)``. The functions themselves are ``core.masking.MASKERS``.

The rule is read once per request (and at most a minute old elsewhere, e.g. in commands): a list
of subjects asks for it on every row, and must not cost a query per row.
"""

import threading
import time
from collections.abc import Callable

from django.core.signals import request_started
from django.db.models.signals import post_delete, post_save

from shipex_privacy.core.masking import MASKERS

MAX_AGE_SECONDS = 60
_local = threading.local()


def _rules() -> dict[str, Callable[[str], str]]:
    """Binding (``app.Model.field``) → mask function, for every masked bound entry."""
    rules, read_at = getattr(_local, "rules", None), getattr(_local, "read_at", 0.0)
    if rules is None or time.monotonic() - read_at > MAX_AGE_SECONDS:
        from .models import PersonalDataField

        rules = {
            binding: MASKERS[masking]
            for binding, masking in PersonalDataField.objects.exclude(binding="").exclude(masking="")
            .values_list("binding", "masking")
            if masking in MASKERS
        }
        _local.rules, _local.read_at = rules, time.monotonic()
    return rules


def remember_rules_from(entries) -> None:
    """The rule from every catalogue entry, read by a page for itself anyway (the subject page reads
    the whole catalogue once per request): the same rule as ``_rules()`` would read, without its query."""
    _local.rules = {
        entry.binding: MASKERS[entry.masking] for entry in entries if entry.binding and entry.masking in MASKERS
    }
    _local.read_at = time.monotonic()


def forget_rules(**kwargs) -> None:
    """Read the rule again on next use: a new request, or a catalogue entry saved or deleted."""
    _local.rules = None


request_started.connect(forget_rules, dispatch_uid="catalogue-masking-per-request")
post_save.connect(forget_rules, sender="catalogue.PersonalDataField", dispatch_uid="catalogue-masking-saved")
post_delete.connect(forget_rules, sender="catalogue.PersonalDataField", dispatch_uid="catalogue-masking-deleted")


def _binding(model, field_name: str) -> str:
    concrete = model._meta.concrete_model  # a proxy (subjects without the current policy) is its model
    return f"{concrete._meta.app_label}.{concrete._meta.object_name}.{field_name}"


def masks_for(model) -> dict[str, Callable[[str], str]]:
    """The masked fields of ``model`` (or of its history model's tracked model), by field name."""
    model = getattr(model, "instance_type", model)
    prefix = _binding(model, "")
    return {binding.removeprefix(prefix): mask for binding, mask in _rules().items() if binding.startswith(prefix)}


def is_masked(model, field_name: str) -> bool:
    return _binding(getattr(model, "instance_type", model), field_name) in _rules()


def mask_value(model, field_name: str, value) -> str:
    """``value`` as staff who only read ``model`` see it: masked when the catalogue says so."""
    if value in (None, ""):
        return ""
    mask = _rules().get(_binding(getattr(model, "instance_type", model), field_name))
    return mask(str(value)) if mask else str(value)


def masked_names(model, names) -> list[str]:
    """``names`` as a read-only page shows them: each masked field by its ``masked_<field>`` display."""
    shown = []
    for name in names:
        name = f"masked_{name}" if isinstance(name, str) and is_masked(model, name) else name
        if name not in shown:
            shown.append(name)
    return shown


def masking_history_helper(model, historical_record):
    """simple-history's helper for a history page's diffs, with the catalogue's masked values masked.

    ``audit.admin.HistoryAdmin``, the base of every tracked model's admin, returns it from
    ``get_historical_record_context_helper`` for staff who may not change the record.
    """
    from simple_history.template_utils import HistoricalRecordContextHelper

    class MaskingHistoryHelper(HistoricalRecordContextHelper):
        def prepare_delta_change_value(self, change, value):
            if is_masked(self.model, change.field):
                return mask_value(self.model, change.field, value)
            return super().prepare_delta_change_value(change, value)

    return MaskingHistoryHelper(model, historical_record)


class MaskedFieldsMixin:
    """ModelAdmin of a record about a subject (its consent, a cookie choice, a disclosure row…): the
    change page shows the catalogue's masked fields masked to staff who may not change the record
    (its history does so in ``audit.admin.HistoryAdmin``), and every open of the page is in the
    access log, naming the subject (``subject_id_of``: the record's ``subject_id`` unless a subclass
    says otherwise).
    """

    access_detail = ""

    def __init__(self, model, admin_site):
        super().__init__(model, admin_site)
        for name in getattr(model, "PERSONAL_DATA_FIELDS", ()):
            setattr(self, f"masked_{name}", self._masked_display(model, name))

    @staticmethod
    def _masked_display(model, name: str):
        from django.contrib import admin

        @admin.display(description=model._meta.get_field(name).verbose_name)
        def display(obj):
            return mask_value(model, name, getattr(obj, name)) or "—"

        return display

    def subject_id_of(self, obj) -> int | None:
        return getattr(obj, "subject_id", None)

    def shows_in_full(self, request, obj=None) -> bool:
        return obj is None or self.has_change_permission(request, obj)

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return fields if self.shows_in_full(request, obj) else masked_names(self.model, fields)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if self.shows_in_full(request, obj):
            return fields
        return (*fields, *(f"masked_{name}" for name in masks_for(self.model)))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        from django.contrib.admin.utils import unquote

        from shipex_privacy.audit.access import access_record
        from shipex_privacy.audit.models import AccessEvent

        response = super().change_view(request, object_id, form_url, extra_context)
        obj = self.get_object(request, unquote(object_id)) if response.status_code == 200 else None
        if obj is not None:
            access_record(request=request, action=AccessEvent.Action.SUBJECT_VIEW, obj=obj,
                          subject_id=self.subject_id_of(obj), detail=self.access_detail)
        return response
