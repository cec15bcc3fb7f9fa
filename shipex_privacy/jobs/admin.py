"""Job runs, read only for everyone: what each scheduled job did, when, how long, and its errors."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from shipex_privacy.core.admin import ReadOnlyAdmin

from . import admin_beat  # noqa: F401 (django-celery-beat's schedule pages, under our roles)
from .models import JobRun


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    list_display = ("job", "started_at", "duration", "outcome", "brief_summary", "host")
    list_filter = ("outcome", "job", "started_at")
    date_hierarchy = "started_at"
    list_per_page = 100
    show_full_result_count = False  # every ten seconds a run: no COUNT(*) over the whole table
    fields = ("job", "outcome", "started_at", "finished_at", "duration", "summary", "error", "host", "task_id")
    readonly_fields = fields

    @admin.display(description=_("what it did"))
    def brief_summary(self, run: JobRun) -> str:
        return ", ".join(f"{key}: {value}" for key, value in run.summary.items()) if run.summary else "—"
