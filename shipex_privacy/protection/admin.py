from django.contrib import admin
from django.db.models import Count
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from shipex_privacy.audit.admin import AuditedAdmin

from .models import PROTECTION_FIELDS, PROTECTIONS, Incident, IncidentField, IncidentSubject, Measure


class ReviewOverdueFilter(admin.SimpleListFilter):
    title = _("review")
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("overdue", _("Overdue"))]

    def queryset(self, request, queryset):
        if self.value() == "overdue":
            return queryset.overdue()  # the indexed query (measure_review_due_idx)
        return queryset


class ProtectionFilter(admin.SimpleListFilter):
    title = _("protects against (1.7.1)")
    parameter_name = "protects"

    def lookups(self, request, model_admin):
        return list(PROTECTIONS.items())

    def queryset(self, request, queryset):
        if self.value() in PROTECTION_FIELDS:
            return queryset.filter(**{self.value(): True})
        return queryset


@admin.register(Measure)
class MeasureAdmin(AuditedAdmin):
    list_display = ("title", "kind", "status", "owner", "last_reviewed_on", "next_review", "protects_against")
    list_filter = (ReviewOverdueFilter, "status", "kind", ProtectionFilter)
    search_fields = ("title", "owner")  # a register of dozens of rows, not a large table
    fieldsets = (
        (None, {"fields": ("title", "kind", "description", "owner", "status", "evidence")}),
        (_("Review"), {"fields": ("last_reviewed_on", "review_every_months", "next_review_on")}),
        (_("Protects personal data against (1.7.1)"), {"fields": PROTECTION_FIELDS}),
    )
    readonly_fields = ("next_review_on",)

    class Media:
        css = {"all": ["protection/admin.css"]}

    @admin.display(description=_("next review"), ordering="next_review_on")
    def next_review(self, measure):
        shown = formats.localize(measure.next_review_on)
        if measure.is_review_overdue():
            # Red (protection/admin.css), with words as well as a colour, for readers who do not see red.
            return format_html('<strong class="review-overdue">● {} · {}</strong>', shown, _("review overdue"))
        return shown

    @admin.display(description=_("protects against (1.7.1)"))
    def protects_against(self, measure):
        return ", ".join(measure.protections)


class NotifiedFilter(admin.SimpleListFilter):
    title = _("who was notified")
    parameter_name = "notified"

    def lookups(self, request, model_admin):
        return [("authority", _("The authority")), ("subjects", _("The subjects")), ("nobody", _("Nobody"))]

    def queryset(self, request, queryset):
        return {
            "authority": lambda: queryset.filter(authority_notified_at__isnull=False),
            "subjects": lambda: queryset.filter(subjects_notified_at__isnull=False),
            "nobody": lambda: queryset.filter(authority_notified_at=None, subjects_notified_at=None),
        }.get(self.value(), lambda: queryset)()


class IncidentFieldInline(admin.TabularInline):
    model = IncidentField
    extra = 0
    verbose_name = _("data affected")
    verbose_name_plural = _("data affected (catalogue entries)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("field")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "field":
            # The catalogue read once for the page, not once for each row's select.
            field.choices = list(field.choices)
        return field


class IncidentSubjectInline(admin.TabularInline):
    model = IncidentSubject
    extra = 0
    # Subjects are millions of rows: an id with a lookup popup, never a select of them all.
    raw_id_fields = ("subject",)
    verbose_name = _("subject affected")
    verbose_name_plural = _("subjects affected, known by name")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("subject")


@admin.register(Incident)
class IncidentAdmin(AuditedAdmin):
    inlines = [IncidentFieldInline, IncidentSubjectInline]
    list_display = (
        "__str__", "severity", "status", "occurred_at", "found_at", "subjects_affected", "notified", "closed_at",
    )
    list_filter = ("status", "severity", NotifiedFilter)
    search_fields = ("title", "reported_by")
    fieldsets = (
        (None, {"fields": ("title", "description", "severity", "reported_by")}),
        (_("When"), {"fields": ("occurred_at", "found_at")}),
        (_("Subjects affected"), {"fields": ("subject_count",)}),
        (_("Response"), {"fields": ("actions_taken", "status", "closed_at")}),
        (_("Who was notified"), {"fields": ("authority_notified_at", "subjects_notified_at", "notification_details")}),
    )

    def get_queryset(self, request):
        # The list's subject column counts named subjects in the same query, not one query per row.
        return super().get_queryset(request).annotate(named_subjects=Count("subject_links"))

    def has_delete_permission(self, request, obj=None):
        return False  # an incident is evidence: it is closed, never deleted

    @admin.display(description=_("subjects affected"))
    def subjects_affected(self, incident):
        named, count = incident.named_subjects, incident.subject_count
        if named and count is not None:
            return _("%(named)s named of %(count)s") % {"named": named, "count": count}
        if named:
            return _("%(named)s named") % {"named": named}
        return "—" if count is None else str(count)

    @admin.display(description=_("who was notified"))
    def notified(self, incident):
        made = [f"{who} {formats.localize(timezone.localtime(when))}" for who, when in incident.notified]
        return "; ".join(made) or _("nobody")
