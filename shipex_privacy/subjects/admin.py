from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from shipex_privacy.audit.admin import AuditedAdmin, ChangeReasonForm
from shipex_privacy.catalogue.models import PersonalDataField
from shipex_privacy.core import identifiers
from shipex_privacy.core.masking import mask_email, mask_phone, mask_pinfl
from shipex_privacy.core.paginator import EstimatedCountPaginator

from .history import recent_history
from .models import Address, DataSubject
from .panels import SubjectPanel, panels_for, register_subject_panel


def apply_catalogue(form_class, model):
    """Mark each bound field mandatory or optional as the catalogue says, with its clause and purposes."""
    for name, entry in PersonalDataField.objects.bound_to(model).items():
        field = form_class.base_fields.get(name)
        if field is None:
            continue
        field.required = entry.is_mandatory
        purposes = ", ".join(purpose.clause for purpose in entry.purposes.all())
        field.help_text = _("%(requirement)s · %(method)s · purposes %(purposes)s · %(code)s") % {
            "requirement": entry.get_requirement_display(),
            "method": entry.get_collection_method_display(),
            "purposes": purposes,
            "code": entry.code,
        }
    return form_class


class DataSubjectForm(ChangeReasonForm):
    keep_pinfl = forms.BooleanField(
        label=_("Keep this PINFL although its check digit does not match"),
        required=False,
        help_text=_("Only when the document shows this number; say so in the reason."),
    )

    class Meta:
        model = DataSubject
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        pinfl = cleaned.get("pinfl")
        if pinfl and "pinfl" in self.changed_data and not identifiers.pinfl_check_digit_matches(pinfl):
            if not cleaned.get("keep_pinfl"):
                self.add_error(
                    "pinfl",
                    _("The check digit of this PINFL does not match (expected %(digit)s at the end). "
                      "Check the number; if the document really shows it, tick the box below and give a reason.")
                    % {"digit": identifiers.pinfl_check_digit(pinfl[:13])},
                )
            elif not cleaned.get("change_reason", "").strip():
                self.add_error("change_reason", _("Say why the PINFL is kept despite its check digit."))
        return cleaned


class AddressInline(admin.TabularInline):
    model = Address
    extra = 0
    fields = ("kind", "region", "city", "street", "landmark", "postal_code")

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        apply_catalogue(formset.form, Address)
        return formset


@admin.register(DataSubject)
class DataSubjectAdmin(AuditedAdmin):
    form = DataSubjectForm
    inlines = [AddressInline]
    default_reason = _("Registered in the back office")
    list_display = (
        "account_id", "full_name", "phone_masked", "email_masked", "pinfl_masked", "status", "registered_at",
    )
    list_filter = ("status", "preferred_language")
    # The search is our own (exact lookups on normalised values); search_fields only turns the box on.
    search_fields = ("account_id",)
    search_help_text = _("Phone (any format), e-mail, account id or PINFL — exact match.")
    # registered_at is set when the account is created; the form would round away its microseconds.
    readonly_fields = ("registered_at", "status", "status_changed_at")
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    change_form_template = "admin/subjects/datasubject/change_form.html"

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset & DataSubject.objects.search(search_term), False

    def get_form(self, request, obj=None, change=False, **kwargs):
        return apply_catalogue(super().get_form(request, obj, change, **kwargs), DataSubject)

    def get_fieldsets(self, request, obj=None):
        bound = PersonalDataField.objects.bound_to(DataSubject)
        by_category: dict[str, list[str]] = {}
        for name in DataSubject.PERSONAL_DATA_FIELDS:
            entry = bound.get(name)
            by_category.setdefault(entry.category if entry else "", []).append(name)
        if self.can_write(request, obj) and "pinfl" in by_category.get(PersonalDataField.Category.DOCUMENT, []):
            by_category[PersonalDataField.Category.DOCUMENT].append("keep_pinfl")
        fieldsets = [
            (label, {"fields": by_category[category]})
            for category, label in PersonalDataField.Category.choices
            if category in by_category
        ]
        if "" in by_category:
            fieldsets.append((_("Not in the catalogue"), {"fields": by_category[""]}))
        fieldsets.append((_("Status"), {"fields": ["status", "status_changed_at"]}))
        if self.can_write(request, obj):
            fieldsets.append(self.reason_fieldset())
        return fieldsets

    def change_view(self, request, object_id, form_url="", extra_context=None):
        subject = self.get_object(request, object_id)
        extra_context = {**(extra_context or {}), "subject_panels": panels_for(request, subject) if subject else []}
        return super().change_view(request, object_id, form_url, extra_context)

    def has_delete_permission(self, request, obj=None):
        # A subject is closed or anonymised, never deleted: auditors may ask about it later.
        return False

    @admin.display(description=_("phone"), ordering="phone")
    def phone_masked(self, subject):
        return mask_phone(subject.phone)

    @admin.display(description=_("e-mail"))
    def email_masked(self, subject):
        return mask_email(subject.email)

    @admin.display(description=_("PINFL"))
    def pinfl_masked(self, subject):
        return mask_pinfl(subject.pinfl)


def history_panel_context(request, subject):
    return {"entries": recent_history(subject), "subject": subject}


register_subject_panel(
    SubjectPanel(
        title=_("Change history"),
        template="admin/subjects/datasubject/history_panel.html",
        context=history_panel_context,
        permission="subjects.view_historicaldatasubject",
        order=90,
    )
)
