"""Admin pieces every tracked model shares: a stated reason for each change, history that is
read, never reverted or deleted, and saves that leave no empty history rows."""

from django import forms
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

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

    def delete_model(self, request, obj):
        record_delete(instance=obj, actor=request.user, reason=str(_("Deleted in the back office")))

    def delete_queryset(self, request, queryset):
        for obj in queryset:  # one history row each, never a bulk delete
            self.delete_model(request, obj)

