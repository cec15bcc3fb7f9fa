"""Admin pieces every tracked model shares: a stated reason for each change, history that is
read, never reverted or deleted, and saves that leave no empty history rows; and the read-only
access log."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from shipex_privacy.core.paginator import EstimatedCountPaginator

from .models import AccessEvent
from .services import record_delete, record_save


class ChangeReasonForm(forms.ModelForm):
    change_reason = forms.CharField(
        label=_("Reason for this change"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 80}),
        help_text=_("Kept in the history. Example: “DSR #42: subject asked to correct the address”."),
    )

    def has_data_changes(self) -> bool:
        """Whether a field of the record changed (the reason and other helper fields do not count)."""
        model_fields = {field.name for field in self._meta.model._meta.get_fields()}
        return any(name in model_fields for name in self.changed_data)

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and not cleaned.get("change_reason", "").strip():
            self.add_error(
                "change_reason", _("Say why you are changing this record; the reason is kept in its history.")
            )
        return cleaned


class AuditedAdmin(SimpleHistoryAdmin):
    """Base admin for models with history: every change carries who, from where, and why."""

    form = ChangeReasonForm
    change_form_template = "admin/audited_change_form.html"
    history_list_per_page = 50
    default_reason = _("Created in the back office")
    reason_fieldset_title = _("Why")

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (name, {**options, "fields": [f for f in options["fields"] if f != "change_reason"]})
            for name, options in super().get_fieldsets(request, obj)
        ]
        if self.can_write(request, obj):
            fieldsets.append(self.reason_fieldset())
        return fieldsets

    def can_write(self, request, obj=None) -> bool:
        return self.has_change_permission(request, obj) if obj else self.has_add_permission(request)

    def reason_fieldset(self):
        return (self.reason_fieldset_title, {"fields": ["change_reason"], "classes": ["change-reason"]})

    def reason(self, form) -> str:
        return form.cleaned_data.get("change_reason", "").strip() or str(self.default_reason)

    def save_model(self, request, obj, form, change):
        if change and not form.has_data_changes():
            return  # nothing changed: no history row
        record_save(instance=obj, actor=request.user, reason=self.reason(form))

    def save_formset(self, request, form, formset, change):
        reason = self.reason(form)
        for instance in formset.save(commit=False):
            record_save(instance=instance, actor=request.user, reason=reason)
        for instance in formset.deleted_objects:
            record_delete(instance=instance, actor=request.user, reason=reason)
        formset.save_m2m()

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # History is evidence and never reverted (SIMPLE_HISTORY_REVERT_DISABLED); simple-history's
        # page of one old version would still save a POSTed form without checking the change permission.
        if request.method != "GET":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def delete_model(self, request, obj):
        record_delete(instance=obj, actor=request.user, reason=str(_("Deleted in the back office")))

    def delete_queryset(self, request, queryset):
        for obj in queryset:  # one history row each, never a bulk delete
            self.delete_model(request, obj)



@admin.register(AccessEvent)
class AccessEventAdmin(admin.ModelAdmin):
    """The access log, read-only for everybody: nobody adds, changes or deletes a read.

    Filter by ``?subject_id=`` or ``?user_id=`` (the columns link to both): each is an indexed
    lookup. The log keeps no personal data of the subject itself, only ids and the hashed term.
    """

    # No list filter: counting one action over hundreds of millions of rows is what the design
    # forbids on a page view. Filters by subject or staff member (indexed) come through the links.
    list_display = ("at", "who", "action", "what", "subject", "field", "reason", "ip")
    ordering = ("-id",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 100
    fields = (
        "at", "user_id", "username", "action", "object_type", "object_id", "subject_id", "field", "reason",
        "search_term_hash", "detail", "ip", "user_agent",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("staff member"), ordering="user_id")
    def who(self, event):
        if event.user_id is None:
            return event.username or "—"
        return format_html('<a href="?user_id={}">{}</a>', event.user_id, event.username)

    @admin.display(description=_("object"))
    def what(self, event):
        return f"{event.object_type} #{event.object_id}" if event.object_type else "—"

    @admin.display(description=_("data subject"), ordering="subject_id")
    def subject(self, event):
        if event.subject_id is None:
            return "—"
        return format_html('<a href="?subject_id={}">#{}</a>', event.subject_id, event.subject_id)
