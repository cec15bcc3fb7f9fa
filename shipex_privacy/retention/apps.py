from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RetentionConfig(AppConfig):
    name = "shipex_privacy.retention"
    label = "retention"
    verbose_name = _("Retention")

    def ready(self) -> None:
        from . import (
            home,  # noqa: F401  (registers this app's lines on the role homes, core/home.py)
            panels,  # noqa: F401  (adds the legal holds panel to the subject page)
        )
