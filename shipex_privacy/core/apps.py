from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "shipex_privacy.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from . import checks  # noqa: F401 (registers the database-role checks of check --deploy)
        from .dbroles import grant_app_role_after_migrate
        from .freeze import install_freeze_guards_after_migrate

        # After every migrate, because SQLite drops a table's triggers when it rebuilds the table.
        post_migrate.connect(install_freeze_guards_after_migrate, sender=self)
        # New tables from this migrate are the app role's to read and write (DML only).
        post_migrate.connect(grant_app_role_after_migrate, sender=self)
