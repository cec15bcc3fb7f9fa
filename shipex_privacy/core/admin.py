"""Admin pieces shared by every app: read-only lists and pages of our own inside the admin."""

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _


class QuickRowsMixin:
    """Change lists whose per-row cost does not include a widget template and URL resolutions.

    For each row Django renders the action checkbox through the form renderer (a template), reverses
    the change URL, and resolves that URL again to add the list's filters to it; on a page of 50–100
    rows those were most of the page's time. Here the checkbox is the same HTML built with
    ``format_html``, and the change URL with the list's filters is made once per list, the row's
    integer key put in its place (other keys go Django's own way). The links are the same.
    """

    _PK_SLOT = "0pk0"  # matched by the admin's <path:object_id>, and never part of an integer key

    def action_checkbox(self, obj):
        # ModelAdmin.action_checkbox's markup, with Django's own (translated) label.
        label = format_html(_("Select this object for an action - {}"), str(obj))
        return format_html('<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
                           helpers.ACTION_CHECKBOX_NAME, str(obj.pk), label)

    def get_changelist(self, request, **kwargs):
        slot = self._PK_SLOT

        class QuickRowsChangeList(super().get_changelist(request, **kwargs)):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                # The filters go into url_for_result's links once, so the row template adds none.
                self.row_filters, self.preserved_filters = self.preserved_filters, ""
                self._change_url = None

            def with_filters(self, url: str) -> str:
                return add_preserved_filters({"preserved_filters": self.row_filters, "opts": self.opts}, url)

            def url_for_result(self, result):
                pk = getattr(result, self.pk_attname)
                if type(pk) is not int:
                    return self.with_filters(super().url_for_result(result))
                if self._change_url is None:
                    self._change_url = self.with_filters(reverse(
                        f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=(slot,),
                        current_app=self.model_admin.admin_site.name))
                return self._change_url.replace(slot, str(pk), 1)

        return QuickRowsChangeList


class ReadOnlyAdminMixin:
    """For records written only by services, ledgers and logs: the admin reads, never writes."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(QuickRowsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


def admin_page(model_admin, request, template: str, title, **context) -> TemplateResponse:
    """A page of our own (a workflow step, a report) with the admin's header, sidebar and breadcrumbs."""
    return TemplateResponse(request, template, {
        **model_admin.admin_site.each_context(request), "opts": model_admin.model._meta, "title": title, **context,
    })
