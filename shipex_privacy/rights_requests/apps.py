from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RightsRequestsConfig(AppConfig):
    name = "shipex_privacy.rights_requests"
    label = "rights_requests"
    verbose_name = _("Data-subject requests")

    def ready(self) -> None:
        from . import (
            held,  # noqa: F401  (its models in the held-model registry, retention/erasing.py)
            home,  # noqa: F401  (registers this app's lines on the role homes, core/home.py)
            package_catalogue,  # noqa: F401  (the access package's catalogue sections, package_sections.py)
            panels,  # noqa: F401  (adds the requests panel to the subject page)
        )
