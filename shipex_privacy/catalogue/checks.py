"""System checks that keep the code and the data catalogue honest with each other.

A model that holds personal data names every concrete field in ``PERSONAL_DATA_FIELDS`` or
``NON_PERSONAL_FIELDS``, so a new column cannot slip in unclassified. The checks that read the
catalogue need the database: run ``manage.py check --database default`` (CI and ``make demo`` do).
"""

from django.apps import apps
from django.core import checks
from django.db import DatabaseError


def models_holding_personal_data() -> list:
    return [
        model
        for model in apps.get_models()
        # Proxies share their concrete model's fields.
        if hasattr(model, "PERSONAL_DATA_FIELDS") and not model._meta.proxy
    ]


def binding_of(model, field_name: str) -> str:
    return f"{model._meta.app_label}.{model._meta.object_name}.{field_name}"


@checks.register("catalogue")
def check_fields_classified(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors = []
    for model in models_holding_personal_data():
        concrete = {field.name for field in model._meta.concrete_fields}
        # DERIVED_FIELDS repeat a personal-data field in another form (a search key) and follow it.
        declared = (set(model.PERSONAL_DATA_FIELDS) | set(getattr(model, "NON_PERSONAL_FIELDS", ()))
                    | set(getattr(model, "DERIVED_FIELDS", ())))
        for name in sorted(concrete - declared):
            errors.append(
                checks.Error(
                    f"{binding_of(model, name)} is not classified as personal data or not.",
                    hint="Add it to PERSONAL_DATA_FIELDS (and the catalogue) or to NON_PERSONAL_FIELDS.",
                    obj=model,
                    id="catalogue.E004",
                )
            )
        for name in sorted(declared - concrete):
            errors.append(
                checks.Error(
                    f"{model._meta.label} declares {name!r}, which is not one of its fields.",
                    obj=model,
                    id="catalogue.E005",
                )
            )
    return errors


def has_unapplied_migrations(alias: str) -> bool:
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connections[alias])
        return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    except DatabaseError:
        return True


@checks.register("catalogue", checks.Tags.database)
def check_catalogue_matches_models(app_configs=None, databases=None, **kwargs) -> list[checks.CheckMessage]:
    if not databases or any(has_unapplied_migrations(alias) for alias in databases):
        # migrate runs the checks before it migrates: a migration that adds a personal-data
        # field together with its catalogue entry must be able to run. Checked once migrated.
        return []
    from .models import PersonalDataField

    errors = []
    try:
        entries = list(PersonalDataField.objects.prefetch_related("purposes"))
    except DatabaseError:  # not migrated yet: migrate runs the checks before it migrates
        return []
    bindings = {entry.binding for entry in entries if entry.binding}

    for model in models_holding_personal_data():
        for name in model.PERSONAL_DATA_FIELDS:
            if binding_of(model, name) not in bindings:
                errors.append(
                    checks.Error(
                        f"{binding_of(model, name)} holds personal data but has no catalogue entry.",
                        hint="Add a personal data field bound to it in the data catalogue.",
                        obj=model,
                        id="catalogue.E001",
                    )
                )
    for entry in entries:
        if entry.binding:
            try:
                entry.bound_model_field()
            except LookupError:
                errors.append(
                    checks.Error(
                        f"Catalogue entry {entry.code} is bound to {entry.binding}, which is not a field.",
                        obj=entry,
                        id="catalogue.E002",
                    )
                )
        if not entry.purposes.all():
            errors.append(
                checks.Error(
                    f"Catalogue entry {entry.code} serves no purpose; clause 1.3.1 allows only data "
                    "necessary for a purpose.",
                    obj=entry,
                    id="catalogue.E003",
                )
            )
    return errors


@checks.register("catalogue", checks.Tags.database)
def check_localisation(app_configs=None, databases=None, **kwargs) -> list[checks.CheckMessage]:
    """Biometric and genetic data stay in Uzbekistan (ZRU-547 art. 27-1 as rewritten in 2026)."""
    if not databases or any(has_unapplied_migrations(alias) for alias in databases):
        return []
    from .models import PersonalDataField

    try:
        entries = list(PersonalDataField.objects.must_stay_in_uzbekistan().held_abroad().select_related("system"))
    except DatabaseError:
        return []
    return [
        checks.Error(
            f"Catalogue entry {entry.code} ({entry.sensitivity} data) is held in system {entry.system.code} "
            f"({entry.system.name}) outside Uzbekistan: "
            f"{', '.join(sorted({entry.storage_country, entry.system.country} - {'UZ'}))}.",
            hint="Biometric and genetic data must stay in Uzbekistan (ZRU-547 art. 27-1, 2026): hold the entry "
                 "in a system in Uzbekistan, with storage country UZ.",
            obj=entry,
            id="catalogue.E006",
        )
        for entry in entries
    ]
