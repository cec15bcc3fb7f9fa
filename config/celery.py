"""The Celery app: background jobs (README "Background jobs"). Configured from Django's settings
(``CELERY_*``); each app's ``tasks.py`` is found by ``autodiscover_tasks()``.

    celery -A config worker --beat --scheduler django_celery_beat.schedulers:DatabaseScheduler
"""

import os
from pathlib import Path

from celery import Celery

# As wsgi.py: the worker is production unless told otherwise (make demo says config.settings.local).
# This module is imported with the config package, so the default must be the same as wsgi.py's.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("shipex_privacy")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def make_queue_folders(sender, **kwargs) -> None:
    """The file-system broker of the demo keeps messages in folders that must exist (var/celery)."""
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
