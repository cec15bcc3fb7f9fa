"""Legal holds (placed through the add form, released on a page of their own, never deleted),
retention runs (read-only, with their counts) and the page of what expires in the next 30 days."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Sum
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shipex_privacy.audit.admin import AuditedAdmin, ReadOnlyHistoryAdmin
from shipex_privacy.core.admin import admin_page
from shipex_privacy.core.steps import StepAdminMixin
from shipex_privacy.subjects.models import DataSubject

from . import reports, services
from .models import LegalHold, RetentionRun, RetentionRunCount

EXPIRING_DAYS = 30


class LegalHoldForm(forms.ModelForm):
    class Meta:
        model = LegalHold
        fields = ("subject", "reason", "legal_reference")
        widgets = {"reason": forms.Textarea(attrs={"rows": 2, "cols": 80})}

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("subject") and not self.errors:
            try:
                services.legal_hold_check(subject=cleaned["subject"], reason=cleaned.get("reason", ""),
                                          legal_reference=cleaned.get("legal_reference", ""))
            except ValidationError as error:
                raise forms.ValidationError(error.messages) from None
        return cleaned


class ReleaseForm(forms.Form):
    reason = forms.CharField(label=_("Why is the hold released?"), max_length=500,
                             widget=forms.Textarea(attrs={"rows": 2, "cols": 80}),
                             help_text=_("Kept with the hold and in its history. Example: “Case closed by the "
                                         "court's ruling of 12.03.2027”."))


class HoldStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", _("In force")), ("released", _("Released"))]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.active()
        if self.value() == "released":
            return queryset.filter(released_at__isnull=False)
        return queryset


@admin.register(LegalHold)
class LegalHoldAdmin(StepAdminMixin, AuditedAdmin):
    form = LegalHoldForm
    list_display = ("subject", "legal_reference", "placed_at", "placed_by_username", "in_force", "released_at")
    list_filter = (HoldStateFilter,)
    list_select_related = ("subject",)
    search_fields = ("subject__account_id",)  # the search itself is the subjects' own; this turns the box on
    search_help_text = _("Subject's phone, e-mail, account id or PINFL — exact match.")
    show_full_result_count = False
    raw_id_fields = ("subject",)
    change_form_template = "admin/retention/legalhold/change_form.html"
    shown_fields = ("subject", "reason", "legal_reference", "placed_at", "placed_by_username")
    release_fields = ("released_at", "released_by_username", "release_reason")

    @admin.display(description=_("in force"), boolean=True)
    def in_force(self, hold):
        return hold.is_active

    def get_search_results(self, request, queryset, search_term):
        # The subjects' one search: "sx 1000 001" or a phone typed any way finds the subject's holds.
        if not search_term.strip():
            return queryset, False
        return queryset.filter(subject__in=DataSubject.objects.search(search_term)), False

    def get_fieldsets(self, request, obj=None):
        # The hold's own reason is the reason for placing it: no separate "reason for this change".
        if obj is None:
            return [(None, {"fields": ("subject", "reason", "legal_reference")})]
        return [(None, {"fields": self.shown_fields}), (_("Release"), {"fields": self.release_fields})]

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else (*self.shown_fields, *self.release_fields)

    def has_change_permission(self, request, obj=None):
        # A placed hold is never edited in a form; it is released on its own page, which needs this
        # permission. Without an object Django asks whether the list may link to changes.
        if obj is not None:
            return False
        return super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False  # a hold is evidence of why data was kept: released, never deleted

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        hold = services.legal_hold_place(subject=data["subject"], reason=data["reason"],
                                         legal_reference=data["legal_reference"], actor=request.user)
        obj.pk = hold.pk
        obj.refresh_from_db()

    def get_urls(self):
        return [
            *self.step_urls(("<int:pk>/release/", self.release_view, "retention_legalhold_release")),
            *super().get_urls(),
        ]

    def release_view(self, request, pk):
        # A placed hold is never "changed" (has_change_permission is False for it): releasing is its own permission.
        hold = self.step_object(request, pk, "retention.change_legalhold")
        return self.step(
            request, pk, obj=hold, permission="retention.change_legalhold", title=_("Release the legal hold"),
            form_class=ReleaseForm,
            summary=_("%(subject)s is under a legal hold since %(placed)s: %(reference)s. Once it is released, "
                      "retention runs and erasure requests reach this subject's data again.") % {
                "subject": hold.subject, "placed": f"{timezone.localtime(hold.placed_at):%d.%m.%Y}",
                "reference": hold.legal_reference},
            done=_("The legal hold is released; the subject's data follows its retention rules again."),
            run=lambda hold, data: services.legal_hold_release(hold=hold, reason=data["reason"], actor=request.user))


class RetentionRunCountInline(admin.TabularInline):
    model = RetentionRunCount
    extra = 0
    can_delete = False
    fields = ("rule", "model", "expired", "deleted", "anonymised", "held", "failed", "examples", "note")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("rule")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RetentionRun)
class RetentionRunAdmin(ReadOnlyHistoryAdmin):
    """Runs of ``manage.py apply_retention``: written only by the run itself, read here."""

    list_display = ("started_at", "dry_run", "status", "started_by", "finished_at", "deleted", "anonymised", "held")
    list_filter = ("dry_run", "status")
    fields = ("started_at", "finished_at", "dry_run", "status", "started_by", "error")
    readonly_fields = fields
    inlines = [RetentionRunCountInline]
    show_full_result_count = False
    change_list_template = "admin/retention/retentionrun/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            deleted_total=Sum("counts__deleted"), anonymised_total=Sum("counts__anonymised"),
            held_total=Sum("counts__held"))

    @admin.display(description=_("deleted"), ordering="deleted_total")
    def deleted(self, run):
        return run.deleted_total or 0

    @admin.display(description=_("anonymised"), ordering="anonymised_total")
    def anonymised(self, run):
        return run.anonymised_total or 0

    @admin.display(description=_("kept: legal hold"), ordering="held_total")
    def held(self, run):
        return run.held_total or 0

    def get_urls(self):
        return [
            path("expiring/", self.admin_site.admin_view(self.expiring_view), name="retention_retentionrun_expiring"),
            *super().get_urls(),
        ]

    def expiring_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        groups, not_applied = reports.expiring_soon(days=EXPIRING_DAYS)
        return admin_page(self, request, "admin/retention/retentionrun/expiring.html",
                          _("Expires in the next %(days)s days") % {"days": EXPIRING_DAYS},
                          groups=groups, not_applied=not_applied, days=EXPIRING_DAYS)
