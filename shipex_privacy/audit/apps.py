from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "shipex_privacy.audit"
    label = "audit"
    verbose_name = _("Audit")

    def ready(self) -> None:
        from simple_history.signals import pre_create_historical_record

        from . import history
        from .guards import install_guards_after_migrate

        pre_create_historical_record.connect(history.stamp_request_address)
        # After every migrate, because SQLite drops a table's triggers when it rebuilds the table.
        post_migrate.connect(install_guards_after_migrate, sender=self)
