from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class JobsConfig(AppConfig):
    name = "shipex_privacy.jobs"
    label = "jobs"
    verbose_name = _("Background jobs")

    def ready(self) -> None:
        # Every app's tasks.py, in the web process too: /healthz lists every recorded job by name
        # (runs.JOBS), not only those that happen to have run. Celery's worker finds them the same way.
        autodiscover_modules("tasks")
