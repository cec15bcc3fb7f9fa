import re

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from shipex_privacy.audit.admin import AuditedAdmin, ChangeReasonForm
from shipex_privacy.core.i18n import shown_column

from .models import (
    HOME_COUNTRY,
    MUST_STAY_IN_UZBEKISTAN,
    PersonalDataField,
    ProcessingActivity,
    Purpose,
    RetentionRule,
    Service,
    System,
    transfer_summary,
)


class RefuseDeletionInUseMixin:
    """Show the model's own reasons (``deletion_blockers``) on the admin's delete page."""

    def get_deleted_objects(self, objs, request):
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        protected = list(protected) + [reason for obj in objs for reason in obj.deletion_blockers()]
        return deleted, model_count, perms_needed, protected


class RegistrationFilter(admin.SimpleListFilter):
    title = _("state register")
    parameter_name = "registration"

    def lookups(self, request, model_admin):
        return (("required", _("Registration required")), ("missing", _("Required, not registered")),
                ("not_required", _("Not required")))

    def queryset(self, request, queryset):
        return {
            "required": lambda: queryset.filter(needs_registration=True),
            "missing": lambda: queryset.filter(needs_registration=True, registration_number=""),
            "not_required": lambda: queryset.filter(needs_registration=False),
        }.get(self.value(), lambda: queryset)()


class AbroadFilter(admin.SimpleListFilter):
    title = _("outside Uzbekistan")
    parameter_name = "abroad"

    def lookups(self, request, model_admin):
        return (("yes", _("Yes")), ("no", _("No")))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(country=HOME_COUNTRY)
        if self.value() == "no":
            return queryset.filter(country=HOME_COUNTRY)
        return queryset


@admin.register(System)
class SystemAdmin(AuditedAdmin):
    list_display = (shown_column(System, "name"), "code", shown_column(System, "owner"), "country",
                    "transfer_mechanism", "registration_required", "registration_number", "notification")
    list_filter = (AbroadFilter, "transfer_mechanism", RegistrationFilter)
    search_fields = ("name", "name_uz", "name_ru", "code", "owner", "owner_uz", "owner_ru")
    fieldsets = (
        (None, {"fields": ("code", "name", "owner", "owner_email", "country", "description")}),
        (_("In Uzbek and Russian"), {"fields": ("name_uz", "name_ru", "owner_uz", "owner_ru", "description_uz",
                                                "description_ru")}),
        (_("Cross-border transfer (ZRU-547 art. 15)"), {
            "fields": ("transfer_mechanism", "transfer_reference", "transfer_reference_uz", "transfer_reference_ru",
                       "transfer_date"),
            "description": _("Only for a system outside Uzbekistan. The mechanisms follow ZRU-547 as amended by "
                             "ZRU-1125 of 26.03.2026 — to be confirmed by counsel."),
        }),
        (_("State register of personal-data databases (art. 20)"), {
            "fields": ("registration_required", "registration_number", "registered_on"),
            "description": _("Since 2026 only databases holding data that must stay in Uzbekistan are registered "
                             "(Cabinet of Ministers resolution no. 71 of 08.02.2020, as amended) — to be confirmed "
                             "by counsel."),
        }),
    )
    readonly_fields = ("registration_required",)

    def get_queryset(self, request):
        return super().get_queryset(request).with_registration_required()

    @admin.display(description=_("registration required"), boolean=True, ordering="needs_registration")
    def registration_required(self, system):
        return system.registration_required

    @admin.display(description=_("notification"))
    def notification(self, system):
        if not system.registration_required:
            return ""
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>',
                           reverse("admin:catalogue_system_notification", args=[system.pk]), _("print"))

    def get_urls(self):
        return [
            path("<int:pk>/notification/", self.admin_site.admin_view(self.notification_view),
                 name="catalogue_system_notification"),
            *super().get_urls(),
        ]

    def notification_view(self, request, pk):
        """The notification to the state register of personal-data databases, printable (art. 20)."""
        system = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_view_permission(request, system):
            raise PermissionDenied
        from .register import notification

        return TemplateResponse(request, "admin/catalogue/system/notification.html", {
            **self.admin_site.each_context(request), "opts": System._meta, "system": system,
            "title": _("Notification to the state register of personal-data databases"),
            "operator_name": getattr(settings, "SHIPEX_OPERATOR_NAME", ""),
            "operator_tin": getattr(settings, "SHIPEX_OPERATOR_TIN", ""),
            "today": timezone.localdate(), "transfer": transfer_summary(system), **notification(system),
        })


@admin.register(Purpose)
class PurposeAdmin(RefuseDeletionInUseMixin, AuditedAdmin):
    list_display = ("clause", "name", "legal_basis", "requires_consent", "depersonalised_only")
    list_filter = ("legal_basis", "requires_consent")
    fields = ("clause", "name_uz", "name_ru", "name_en", "legal_basis", "requires_consent", "depersonalised_only")


@admin.register(RetentionRule)
class RetentionRuleAdmin(AuditedAdmin):
    list_display = ("code", "name", "period_display", "clock_starts", "end_action", "is_statutory")
    list_filter = ("is_statutory", "end_action")
    fields = (
        "code", "name_uz", "name_ru", "name_en", ("period", "unit"), "clock_starts", "end_action",
        "is_statutory", "legal_reference", "legal_reference_uz", "legal_reference_ru", "note",
    )

    @admin.display(description=_("period"))
    def period_display(self, rule):
        return rule.period_display


class MustStayFilter(admin.SimpleListFilter):
    title = _("must stay in Uzbekistan")
    parameter_name = "must_stay"

    def lookups(self, request, model_admin):
        return (("yes", _("Yes: biometric or genetic (art. 27-1)")), ("no", _("No")))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.must_stay_in_uzbekistan()
        if self.value() == "no":
            return queryset.exclude(sensitivity__in=MUST_STAY_IN_UZBEKISTAN)
        return queryset


@admin.register(PersonalDataField)
class PersonalDataFieldAdmin(RefuseDeletionInUseMixin, AuditedAdmin):
    # Short forms in the list (the filters and the form carry the full labels with their clauses).
    # The code may wrap after its dots and underscores, the category is written under the name and
    # the clause of how it is collected under the requirement:
    # with ten columns of their own the list was 1,100-1,300 px wide beside the filters, wider than
    # a 1366-px screen leaves it (issue 13).
    list_display = (
        "code_wrapping", "name_and_category", "requirement_short", "sensitivity", "identifies_alone", "system",
        "retention_rule", "bound",
    )
    list_filter = ("category", "requirement", "collection_method", "sensitivity", MustStayFilter, "system",
                   "masking")
    search_fields = ("code", "name_uz", "name_ru", "name_en")
    list_select_related = ("system", "retention_rule")
    filter_horizontal = ("purposes",)
    fieldsets = (
        (None, {"fields": ("code", "category", "name_uz", "name_ru", "name_en", "description")}),
        (_("Collection (1.2.1)"), {"fields": ("requirement", "collection_method", "sensitivity", "identifies_alone")}),
        (_("Purposes and retention (1.3)"), {"fields": ("purposes", "retention_rule")}),
        (_("Storage (1.4.1)"), {"fields": ("system", "storage_country", "binding", "masking")}),
    )

    @admin.display(description=_("code"), ordering="code")
    def code_wrapping(self, entry):
        parts = re.split(r"(?<=[._])", entry.code)
        return format_html_join(mark_safe("<wbr>"), "{}", ((part,) for part in parts))

    @admin.display(description=_("name"), ordering="category")
    def name_and_category(self, entry):
        return format_html('{}<br><span class="quiet">{}</span>', entry.name, entry.get_category_display())

    @admin.display(description=_("requirement"), ordering="requirement")
    def requirement_short(self, entry):
        return format_html('{}<br><span class="quiet" title="{}">{}</span>',
                           _("Mandatory") if entry.is_mandatory else _("Optional"),
                           PersonalDataField._meta.get_field("collection_method").verbose_name,
                           entry.collection_method)  # the clause number: 1.2.1.1, 1.2.1.2 or 1.2.1.3

    # A tick, not the dotted path: the path alone made the list wider than a 1366-px screen.
    @admin.display(description=_("bound to a field here"), boolean=True, ordering="binding")
    def bound(self, entry):
        return bool(entry.binding)


@admin.register(Service)
class ServiceAdmin(AuditedAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name_uz", "name_ru", "name_en")
    filter_horizontal = ("needed_fields",)
    fields = ("code", "name_uz", "name_ru", "name_en", "needed_fields")


class ProcessingActivityForm(ChangeReasonForm):
    subject_categories = forms.MultipleChoiceField(
        label=_("categories of data subjects"), choices=ProcessingActivity.SubjectCategory.choices,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = ProcessingActivity
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        purposes, fields = cleaned.get("purposes"), cleaned.get("fields")
        if purposes is not None and fields is not None:
            # The catalogue says which purposes an entry may serve; the activity cannot widen that.
            outside = ProcessingActivity.data_outside_purposes(purposes, fields.prefetch_related("purposes"))
            if outside:
                self.add_error("fields", _(
                    "These catalogue entries serve none of the activity's purposes: %(codes)s. Add the purpose "
                    "to the entry in the catalogue first, or leave the entry out.") % {"codes": ", ".join(outside)})
        return cleaned


@admin.register(ProcessingActivity)
class ProcessingActivityAdmin(AuditedAdmin):
    """The activities of the records of processing (issue 13), kept by the compliance team."""

    form = ProcessingActivityForm
    list_display = ("code", "name", "purpose_clauses", "subject_categories_display")
    search_fields = ("code", "name_uz", "name_ru", "name_en")
    filter_horizontal = ("purposes", "fields")
    fieldsets = (
        (None, {"fields": ("code", "name_uz", "name_ru", "name_en", "description", "description_uz",
                           "description_ru")}),
        (_("Purposes and data"), {"fields": ("purposes", "subject_categories", "fields")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("purposes")

    @admin.display(description=_("purposes"))
    def purpose_clauses(self, activity):
        return ", ".join(purpose.clause for purpose in activity.purposes.all())

    @admin.display(description=_("categories of data subjects"))
    def subject_categories_display(self, activity):
        return activity.subject_categories_display
