"""System checks that keep every admin of a tracked model on the audited base."""

from django.contrib import admin
from django.core import checks


@checks.register(checks.Tags.admin)
def check_history_admins(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """An admin of a model with history must extend ``HistoryAdmin``, whose history pages refuse POST."""
    from .admin import HistoryAdmin  # the admin modules are loaded by the time checks run

    errors = []
    for model, model_admin in admin.site._registry.items():
        if getattr(model._meta, "simple_history_manager_attribute", None) and not isinstance(model_admin,
                                                                                             HistoryAdmin):
            errors.append(checks.Error(
                f"The admin of {model._meta.label} does not extend audit.admin.HistoryAdmin.",
                hint="Its history pages could save a POSTed old version; build it on HistoryAdmin or AuditedAdmin.",
                obj=type(model_admin), id="audit.E001",
            ))
    return errors
