from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogueConfig(AppConfig):
    name = "shipex_privacy.catalogue"
    label = "catalogue"
    verbose_name = _("Data catalogue")

    def ready(self) -> None:
        from . import checks, masking  # noqa: F401  (registers the system checks and the masking rule's signals)
