from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from shipex_privacy.audit.admin import AuditedAdmin

from .models import PersonalDataField, Purpose, RetentionRule, Service, System


class RefuseDeletionInUseMixin:
    """Show the model's own reasons (``deletion_blockers``) on the admin's delete page."""

    def get_deleted_objects(self, objs, request):
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        protected = list(protected) + [reason for obj in objs for reason in obj.deletion_blockers()]
        return deleted, model_count, perms_needed, protected


@admin.register(System)
class SystemAdmin(AuditedAdmin):
    list_display = ("name", "code", "owner", "country")
    search_fields = ("name", "code", "owner")
    fields = ("code", "name", "owner", "owner_email", "country", "description")


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
        "is_statutory", "legal_reference",
    )

    @admin.display(description=_("period"))
    def period_display(self, rule):
        return rule.period_display


@admin.register(PersonalDataField)
class PersonalDataFieldAdmin(RefuseDeletionInUseMixin, AuditedAdmin):
    # Short forms in the list (the filters and the form carry the full labels with their clauses).
    list_display = (
        "code", "name", "category", "requirement_short", "collection_clause", "sensitivity", "identifies_alone",
        "system", "retention_rule", "binding",
    )
    list_filter = ("category", "requirement", "collection_method", "sensitivity", "system", "masking")
    search_fields = ("code", "name_uz", "name_ru", "name_en")
    list_select_related = ("system", "retention_rule")
    filter_horizontal = ("purposes",)
    fieldsets = (
        (None, {"fields": ("code", "category", "name_uz", "name_ru", "name_en", "description")}),
        (_("Collection (1.2.1)"), {"fields": ("requirement", "collection_method", "sensitivity", "identifies_alone")}),
        (_("Purposes and retention (1.3)"), {"fields": ("purposes", "retention_rule")}),
        (_("Storage (1.4.1)"), {"fields": ("system", "storage_country", "binding", "masking")}),
    )

    @admin.display(description=_("requirement"), ordering="requirement")
    def requirement_short(self, entry):
        return _("Mandatory") if entry.is_mandatory else _("Optional")

    @admin.display(description=_("how it is collected"), ordering="collection_method")
    def collection_clause(self, entry):
        return entry.collection_method  # the clause number: 1.2.1.1, 1.2.1.2 or 1.2.1.3


@admin.register(Service)
class ServiceAdmin(AuditedAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name_uz", "name_ru", "name_en")
    filter_horizontal = ("needed_fields",)
    fields = ("code", "name_uz", "name_ru", "name_en", "needed_fields")
