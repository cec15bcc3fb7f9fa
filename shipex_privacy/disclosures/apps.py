from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DisclosuresConfig(AppConfig):
    name = "shipex_privacy.disclosures"
    label = "disclosures"
    verbose_name = _("Recipients and disclosures")

    def ready(self) -> None:
        from . import (
            home,  # noqa: F401  (registers this app's lines on the role homes, core/home.py)
            package,  # noqa: F401  (its section of the access package: who received the data)
            panels,  # noqa: F401  (adds "who received my data" to the subject page)
        )
