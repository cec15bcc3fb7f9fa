from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogueConfig(AppConfig):
    name = "shipex_privacy.catalogue"
    label = "catalogue"
    verbose_name = _("Data catalogue")

    def ready(self) -> None:
        # The system checks, the masking rule's signals and this app's line on the compliance home.
        from . import checks, home, masking  # noqa: F401
