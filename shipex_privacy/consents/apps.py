from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsentsConfig(AppConfig):
    name = "shipex_privacy.consents"
    label = "consents"
    verbose_name = _("Consents and policy")

    def ready(self) -> None:
        from . import (
            checks,  # noqa: F401  (the operator's name and TIN)
            held,  # noqa: F401  (its models in the held-model registry, retention/erasing.py)
            home,  # noqa: F401  (registers this app's lines on the role homes, core/home.py)
            package,  # noqa: F401  (its section of the access package: consents and ledgers)
            panels,  # noqa: F401  (adds the consent panel to the subject page)
        )
