from django.contrib import admin
from django.db.models import BooleanField, Count, ExpressionWrapper, Q
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from shipex_privacy.audit.admin import AuditedAdmin
from shipex_privacy.core.authority import AUTHORITY_NAME
from shipex_privacy.core.i18n import shown_column

from . import services
from .models import (
    PROTECTION_FIELDS,
    PROTECTION_LEVEL_SOURCE,
    PROTECTIONS,
    RESPONSIBLE_PERSON_SOURCE,
    Incident,
    IncidentField,
    IncidentSubject,
    Measure,
    ProtectionLevel,
    ResponsiblePerson,
)


class OverdueFilter(admin.SimpleListFilter):
    """"Overdue" for any register whose queryset has ``overdue()`` (its indexed query)."""

    title = _("review")
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("overdue", _("Overdue"))]

    def queryset(self, request, queryset):
        if self.value() == "overdue":
            return queryset.overdue()
        return queryset


class ReviewOverdueFilter(OverdueFilter):
    """Measures whose review is overdue (measure_review_due_idx)."""


class ReassessmentOverdueFilter(OverdueFilter):
    """Protection levels whose re-assessment is overdue (protection_level_reassess_idx)."""

    title = _("re-assessment")
    parameter_name = "reassessment"


def due_date(day, *, overdue: bool, words):
    """A due date; when overdue, in red (protection/admin.css) with words as well as a colour, for
    readers who do not see red. Every register of this app marks its overdue dates this way."""
    shown = formats.localize(day)
    if overdue:
        return format_html('<strong class="review-overdue">● {} · {}</strong>', shown, words)
    return shown


class OverdueMediaMixin:
    class Media:
        css = {"all": ["protection/admin.css"]}


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
class MeasureAdmin(OverdueMediaMixin, AuditedAdmin):
    list_display = (shown_column(Measure, "title"), "kind", "status", shown_column(Measure, "owner"),
                    "last_reviewed_on", "next_review", "protects_against")
    list_filter = (ReviewOverdueFilter, "status", "kind", ProtectionFilter)
    # A register of dozens of rows, not a large table.
    search_fields = ("title", "title_uz", "title_ru", "owner", "owner_uz", "owner_ru")
    fieldsets = (
        (None, {"fields": ("title", "kind", "description", "owner", "status", "evidence")}),
        (_("In Uzbek and Russian"), {"fields": ("title_uz", "title_ru", "owner_uz", "owner_ru", "description_uz",
                                                "description_ru")}),
        (_("Review"), {"fields": ("last_reviewed_on", "review_every_months", "next_review_on")}),
        (_("Protects personal data against (1.7.1)"), {"fields": PROTECTION_FIELDS}),
    )
    readonly_fields = ("next_review_on",)

    @admin.display(description=_("next review"), ordering="next_review_on")
    def next_review(self, measure):
        return due_date(measure.next_review_on, overdue=measure.is_review_overdue(), words=_("review overdue"))

    @admin.display(description=_("protects against (1.7.1)"))
    def protects_against(self, measure):
        return ", ".join(measure.protections)


class NotifiedFilter(admin.SimpleListFilter):
    title = _("who was notified")
    parameter_name = "notified"

    def lookups(self, request, model_admin):
        return [("authority", AUTHORITY_NAME), ("subjects", _("The subjects")), ("nobody", _("Nobody"))]

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


@admin.register(ProtectionLevel)
class ProtectionLevelAdmin(OverdueMediaMixin, AuditedAdmin):
    list_display = ("system", "level", "decided_by", "decided_on", "reassessment")
    list_filter = (ReassessmentOverdueFilter, "level")
    list_select_related = ("system",)
    search_fields = ("system__name", "system__code", "decided_by")
    fieldsets = (
        (None, {"fields": ("system", "level", "reasoning"), "description": PROTECTION_LEVEL_SOURCE}),
        (_("Decision"), {"fields": ("decided_by", "decided_on", "reassess_by")}),
    )

    @admin.display(description=_("re-assessment due"), ordering="reassess_by")
    def reassessment(self, level):
        return due_date(level.reassess_by, overdue=level.is_reassessment_overdue(), words=_("re-assessment overdue"))


@admin.register(ResponsiblePerson)
class ResponsiblePersonAdmin(AuditedAdmin):
    list_display = ("name", "kind", "position", "order", "since", "until", "is_current")
    list_filter = ("kind",)
    search_fields = ("name", "order_number")
    fieldsets = (
        (None, {"fields": ("kind", "name", "position"), "description": RESPONSIBLE_PERSON_SOURCE}),
        (_("Appointment"), {"fields": ("order_number", "order_date", "since", "until")}),
        (_("How subjects reach them"), {"fields": ("phone", "email", "address")}),
    )

    def get_queryset(self, request):
        today = timezone.localdate()
        # current() as a column of the list's own query (periods never overlap: one row at most).
        current = Q(since__lte=today) & (Q(until=None) | Q(until__gte=today))
        return super().get_queryset(request).annotate(current=ExpressionWrapper(current, output_field=BooleanField()))

    def has_delete_permission(self, request, obj=None):
        return False  # past appointments stay: letters of their days name them

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        # A new appointment closes the current one the day before it begins.
        services.responsible_person_appoint(person=obj, actor=request.user, reason=self.reason(form))
        return None

    @admin.display(description=_("order"))
    def order(self, person):
        return _("№ %(number)s of %(date)s") % {"number": person.order_number,
                                                "date": formats.localize(person.order_date)}

    @admin.display(description=_("current"), boolean=True, ordering="current")
    def is_current(self, person):
        return person.current
