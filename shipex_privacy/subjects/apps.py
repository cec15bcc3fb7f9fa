from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubjectsConfig(AppConfig):
    name = "shipex_privacy.subjects"
    label = "subjects"
    verbose_name = _("Data subjects")

    def ready(self) -> None:
        from . import held  # noqa: F401  (its models in the held-model registry, retention/erasing.py)
