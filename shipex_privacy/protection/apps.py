from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProtectionConfig(AppConfig):
    name = "shipex_privacy.protection"
    label = "protection"
    verbose_name = _("Protection of personal data")

    def ready(self) -> None:
        from . import home  # noqa: F401  (registers this app's lines on the role homes, core/home.py)
