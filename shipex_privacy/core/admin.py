"""Admin pieces shared by every app: read-only lists and pages of our own inside the admin."""

from django.contrib import admin
from django.template.response import TemplateResponse


class ReadOnlyAdminMixin:
    """For records written only by services, ledgers and logs: the admin reads, never writes."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


def admin_page(model_admin, request, template: str, title, **context) -> TemplateResponse:
    """A page of our own (a workflow step, a report) with the admin's header, sidebar and breadcrumbs."""
    return TemplateResponse(request, template, {
        **model_admin.admin_site.each_context(request), "opts": model_admin.model._meta, "title": title, **context,
    })
