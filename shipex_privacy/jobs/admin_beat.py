"""django-celery-beat's schedule pages, under our roles (accounts/roles.py): compliance officers
edit the schedules, auditors read them, support agents do not see them.

The library's list actions (enable, disable, toggle, run now) declare no permission, so Django
would offer them to anyone who may open the list; here each needs the change permission.
"""

from django.contrib import admin
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)


class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin):
    list_display = ("shown_name", *beat_admin.PeriodicTaskAdmin.list_display[1:])

    @admin.display(description=_("name"), ordering="name")
    def shown_name(self, task: PeriodicTask) -> str:
        # The default schedules' names are in the catalogue (jobs/schedules.py); a name staff typed
        # has no entry and is shown as typed.
        return gettext(task.name)

    @admin.action(description=_("Enable selected tasks"), permissions=["change"])
    def enable_tasks(self, request, queryset):
        return super().enable_tasks(request, queryset)

    @admin.action(description=_("Disable selected tasks"), permissions=["change"])
    def disable_tasks(self, request, queryset):
        return super().disable_tasks(request, queryset)

    @admin.action(description=_("Toggle activity of selected tasks"), permissions=["change"])
    def toggle_tasks(self, request, queryset):
        return super().toggle_tasks(request, queryset)

    @admin.action(description=_("Run selected tasks now"), permissions=["change"])
    def run_tasks(self, request, queryset):
        return super().run_tasks(request, queryset)


LIBRARY_ADMINS = {
    PeriodicTask: PeriodicTaskAdmin,
    IntervalSchedule: beat_admin.IntervalScheduleAdmin,
    CrontabSchedule: beat_admin.CrontabScheduleAdmin,
    SolarSchedule: beat_admin.SolarScheduleAdmin,
    ClockedSchedule: beat_admin.ClockedScheduleAdmin,
}

for model, model_admin in LIBRARY_ADMINS.items():
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
