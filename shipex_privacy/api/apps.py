from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "shipex_privacy.api"
    label = "api"
    verbose_name = _("HTTP API")

    def ready(self) -> None:
        from . import schema  # noqa: F401 (registers the Bearer scheme with drf-spectacular)
