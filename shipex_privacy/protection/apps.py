from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProtectionConfig(AppConfig):
    name = "shipex_privacy.protection"
    label = "protection"
    verbose_name = _("Protection of personal data")

    def ready(self) -> None:
        from shipex_privacy.retention.erasing import register_not_held

        register_not_held("protection.IncidentSubject", reason=(
            "Links a subject to an incident of the register (1.7.1); holds no value of the subject's own."))
        from . import home  # noqa: F401  (registers this app's lines on the role homes, core/home.py)
