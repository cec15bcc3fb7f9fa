"""The baseline: stock Django admin pages over the same models, on a site of their own.

Nothing here is customised beyond what a developer writes on day one (``list_display``,
``list_filter``, an inline), so the benchmark compares our pages with what Django gives for free.
Mounted only by the benchmark's URLconf (urls.py), never by the project's.
"""

from django.contrib import admin

from shipex_privacy.rights_requests.models import SubjectRequest
from shipex_privacy.subjects.models import Address, DataSubject

site = admin.AdminSite(name="plain")


class StockAdmin(admin.ModelAdmin):
    # Django's own templates: the project overrides some by path (admin/<app>/<model>/…), and
    # those overrides name our site's extra pages.
    change_list_template = "admin/change_list.html"
    change_form_template = "admin/change_form.html"


class PlainAddressInline(admin.TabularInline):
    model = Address
    extra = 0


@admin.register(DataSubject, site=site)
class PlainSubjectAdmin(StockAdmin):
    list_display = ("account_id", "full_name", "phone", "email", "pinfl", "status", "registered_at")
    list_filter = ("status",)
    search_fields = ("account_id", "full_name", "phone", "email", "pinfl")
    inlines = [PlainAddressInline]


@admin.register(SubjectRequest, site=site)
class PlainRequestAdmin(StockAdmin):
    list_display = ("__str__", "status", "channel", "received_at", "due_at", "subject", "assignee_username")
    list_filter = ("status", "kind", "channel")
    ordering = ("due_at", "id")
