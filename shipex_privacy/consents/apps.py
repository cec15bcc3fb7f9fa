from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsentsConfig(AppConfig):
    name = "shipex_privacy.consents"
    label = "consents"
    verbose_name = _("Consents and policy")

    def ready(self) -> None:
        from . import checks, panels  # noqa: F401  (the system checks; the consent panel on the subject page)
