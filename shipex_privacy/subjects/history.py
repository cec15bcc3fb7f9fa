"""The recent-history panel of the subject page: the subject's and its addresses' latest changes."""

from django.utils.translation import gettext_lazy as _

from shipex_privacy.core.fields import derived_field_names

from .models import Address, DataSubject

RECENT = 10


def changed_fields(record, previous) -> list[str]:
    if previous is None:
        return []
    model = type(record.instance)
    return [str(model._meta.get_field(change.field).verbose_name) for change in record.diff_against(
        previous, excluded_fields=derived_field_names(model)).changes]


def recent_history(subject: DataSubject, limit: int = RECENT) -> list[dict]:
    """The latest ``limit`` changes, newest first, in two queries whatever the history's length."""
    newest_first = ("-history_date", "-history_id")
    # One subject row more than shown, so that every shown row has its predecessor to diff against.
    subject_rows = list(DataSubject.history.filter(id=subject.pk).order_by(*newest_first)[: limit + 1])
    address_rows = list(Address.history.filter(subject_id=subject.pk).order_by(*newest_first)[:limit])

    entries = [
        {"record": record, "what": _("Subject"), "fields": changed_fields(record, previous)}
        for record, previous in zip(subject_rows, [*subject_rows[1:], None], strict=True)
    ][:limit]
    entries += [
        {"record": record, "what": _("Address: %(address)s") % {"address": record.instance}, "fields": []}
        for record in address_rows
    ]
    entries.sort(key=lambda entry: entry["record"].history_date, reverse=True)
    return entries[:limit]
