"""Seeding helpers for data migrations: each change they make gets the history row a save writes.

Given the migration state's models (``apps``), never the live ones, so a migration keeps working
when the models change later.
"""

from django.utils import timezone


def translate_seeded(apps, app_label: str, model_name: str, key: str, texts: dict, reason: str,
                     m2m_fields: tuple = ()) -> None:
    """Fill the uz/ru twins of the seeded rows (found by ``key``), each change with its "~" history row.

    A twin someone already filled is left as it is, and so is an English text that was edited since
    the seed (``"field": (seeded, new)`` replaces the text only while it is still the seeded one).
    """
    Model = apps.get_model(app_label, model_name)
    History = apps.get_model(app_label, f"Historical{model_name}")
    now = timezone.now()
    for obj in Model.objects.filter(**{f"{key}__in": list(texts)}).order_by("pk"):
        changed = []
        for name, value in texts[getattr(obj, key)].items():
            if isinstance(value, tuple):
                seeded, value = value
                if getattr(obj, name) != seeded:
                    continue
            elif getattr(obj, name):
                continue
            setattr(obj, name, value)
            changed.append(name)
        if changed:
            obj.save(update_fields=changed)
            values = {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}
            history = History.objects.create(history_date=now, history_type="~", history_change_reason=reason,
                                             **values)
            # The links the row had, as simple-history keeps them with every history row.
            for field_name in m2m_fields:
                Historical = apps.get_model(app_label, f"Historical{model_name}_{field_name}")
                through = getattr(Model, field_name).through
                for link in through.objects.filter(**{model_name.lower(): obj}):
                    Historical.objects.create(
                        history=history, **{f.attname: getattr(link, f.attname) for f in through._meta.concrete_fields})
