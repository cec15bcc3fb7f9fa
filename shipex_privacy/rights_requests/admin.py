from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from shipex_privacy.audit.admin import AuditedAdmin
from shipex_privacy.core.admin import admin_page

from . import services
from .forms import AssignActionForm, ExtendForm, MatchForm, MoveForm, ReasonForm, SubjectRequestForm, VerifyForm
from .models import DeadlineChange, DeadlineRule, SubjectRequest

DUE_SOON_DAYS = 3


@admin.register(DeadlineRule)
class DeadlineRuleAdmin(AuditedAdmin):
    list_display = ("kind", "days", "day_count", "legal_reference", "note")
    fields = ("kind", "days", "day_count", "legal_reference", "note")

    def has_delete_permission(self, request, obj=None):
        return False  # every kind needs a rule; change the days instead


class QueueFilter(admin.SimpleListFilter):
    title = _("queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [("mine", _("My requests")), ("unassigned", _("Unassigned")),
                ("due_soon", _("Due in %(days)s days") % {"days": DUE_SOON_DAYS}), ("overdue", _("Overdue"))]

    def queryset(self, request, queryset):
        return {
            "mine": lambda: queryset.open().mine(request.user),
            "unassigned": lambda: queryset.open().unassigned(),
            "due_soon": lambda: queryset.due_soon(DUE_SOON_DAYS),
            "overdue": lambda: queryset.overdue(),
        }.get(self.value(), lambda: queryset)()


class DeadlineChangeInline(admin.TabularInline):
    model = DeadlineChange
    extra = 0
    can_delete = False
    fields = ("at", "kind", "days", "due_before", "due_after", "reason", "by_username")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SubjectRequest)
class SubjectRequestAdmin(AuditedAdmin):
    form = SubjectRequestForm
    action_form = AssignActionForm
    actions = ["assign_selected"]
    inlines = [DeadlineChangeInline]
    list_display = ("__str__", "status", "channel", "received_at", "due", "subject", "assignee_username",
                    "duplicate_of")
    list_filter = (QueueFilter, "status", "kind", "channel")
    list_select_related = ("subject",)
    search_fields = ("=id",)
    show_full_result_count = False
    change_form_template = "admin/rights_requests/subjectrequest/change_form.html"
    readonly_fields = ("subject", "status", "due_at", "day_count", "refuse_by", "paused_at", "duplicate_of",
                       "assignee_username", "identity_method", "identity_verified_by_username",
                       "identity_verified_at", "closed_at")

    def get_fieldsets(self, request, obj=None):
        request_fields = ("kind", "channel", "received_at", "requester_name", "requester_contact", "details")
        if obj is None:
            fieldsets = [(None, {"fields": request_fields})]
        else:
            fieldsets = [
                (None, {"fields": ("status", "subject", "due_at", "day_count", "refuse_by", "paused_at",
                                   "duplicate_of", "assignee_username", "closed_at")}),
                (_("The request"), {"fields": request_fields}),
                (_("Identity"), {"fields": ("identity_method", "identity_verified_by_username",
                                            "identity_verified_at")}),
                (_("Work"), {"fields": ("internal_notes", "response_text")}),
            ]
        if self.can_write(request, obj):
            fieldsets.append(self.reason_fieldset())
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        fixed = ("kind", "received_at") if obj.is_open else ("kind", "received_at", "channel", "requester_name",
                                                              "requester_contact", "details", "internal_notes",
                                                              "response_text")
        return (*self.readonly_fields, *fixed)

    def has_delete_permission(self, request, obj=None):
        return False  # a request is evidence of how ShipEx answered; it is closed, never deleted

    @admin.display(description=_("due"), ordering="due_at")
    def due(self, obj):
        css = "rr-due"
        if obj.is_overdue:
            css = "rr-due rr-overdue"
        elif obj.is_open and obj.paused_at is None and obj.due_at < timezone.now() + timedelta(days=DUE_SOON_DAYS):
            css = "rr-due rr-due-soon"
        return format_html('<span class="{}">{}</span>', css, f"{timezone.localtime(obj.due_at):%d.%m.%Y}")

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        data = form.cleaned_data
        created = services.request_receive(
            kind=data["kind"], channel=data["channel"], received_at=data["received_at"], actor=request.user,
            requester_name=data["requester_name"], requester_contact=data["requester_contact"],
            details=data["details"],
        )
        obj.pk = created.pk
        obj.refresh_from_db()

    @admin.action(description=_("Assign the selected requests"), permissions=["change"])
    def assign_selected(self, request, queryset):
        field = self.action_form.base_fields["assignee"]
        try:
            assignee = field.clean(request.POST.get("assignee")) or request.user
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return
        done = 0
        for obj in queryset:
            try:
                services.request_assign(request=obj, assignee=assignee, actor=request.user)
                done += 1
            except ValidationError as error:
                self.message_user(request, f"{obj}: {' '.join(error.messages)}", messages.ERROR)
        if done:
            self.message_user(request, _("%(count)s requests assigned to %(user)s.") % {
                "count": done, "user": assignee.get_username()}, messages.SUCCESS)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/match/", view(self.match_view), name="rights_requests_subjectrequest_match"),
            path("<int:pk>/verify/", view(self.verify_view), name="rights_requests_subjectrequest_verify"),
            path("<int:pk>/move/", view(self.move_view), name="rights_requests_subjectrequest_move"),
            path("<int:pk>/extend/", view(self.extend_view), name="rights_requests_subjectrequest_extend"),
            path("<int:pk>/pause/", view(self.pause_view), name="rights_requests_subjectrequest_pause"),
            path("<int:pk>/resume/", view(self.resume_view), name="rights_requests_subjectrequest_resume"),
            path("<int:pk>/stop/", view(self.stop_view), name="rights_requests_subjectrequest_stop"),
            *super().get_urls(),
        ]

    def step(self, request, pk, *, title, done, form_class, run):
        """One workflow step: a form page, then the service; refusals come back as messages."""
        obj = get_object_or_404(SubjectRequest.objects.select_related("subject"), pk=pk)
        if not request.user.has_perm("rights_requests.change_subjectrequest"):
            raise PermissionDenied
        # Bound on any POST: a confirmation with no fields still posts (an empty QueryDict is falsy).
        form = form_class(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                run(obj, form.cleaned_data)
            except ValidationError as error:
                for message in error.messages:
                    self.message_user(request, message, messages.ERROR)
            else:
                self.message_user(request, done % {"id": obj.pk}, messages.SUCCESS)
                return redirect("admin:rights_requests_subjectrequest_change", obj.pk)
        return admin_page(self, request, "admin/rights_requests/subjectrequest/step.html", title,
                          request_obj=obj, form=form,
                          back=reverse("admin:rights_requests_subjectrequest_change", args=[obj.pk]))

    def match_view(self, request, pk):
        return self.step(request, pk, title=_("Match to a subject"), form_class=MatchForm,
                         done=_("Request #%(id)s is matched to a subject."),
                         run=lambda obj, data: services.request_match_subject(
                             request=obj, term=data["term"], actor=request.user))

    def verify_view(self, request, pk):
        return self.step(request, pk, title=_("Record identity verification"), form_class=VerifyForm,
                         done=_("Identity verified for request #%(id)s."),
                         run=lambda obj, data: services.request_verify_identity(
                             request=obj, method=data["method"], actor=request.user))

    def move_view(self, request, pk):
        return self.step(request, pk, title=_("Move the request"), form_class=MoveForm,
                         done=_("Request #%(id)s moved."),
                         run=lambda obj, data: services.request_move(
                             request=obj, status=data["status"], actor=request.user,
                             response_text=data["response_text"] or None, note=data["note"]))

    def stop_view(self, request, pk):
        return self.step(request, pk, title=_("Stop processing (1.5.2)"), form_class=forms.Form,
                         done=_("Request #%(id)s: the subject is logged out and consents in force are withdrawn."),
                         run=lambda obj, data: services.request_stop_processing(request=obj, actor=request.user))

    def extend_view(self, request, pk):
        return self.step(request, pk, title=_("Extend the deadline"), form_class=ExtendForm,
                         done=_("The deadline of request #%(id)s is extended."),
                         run=lambda obj, data: services.request_extend(
                             request=obj, days=data["days"], reason=data["reason"], actor=request.user))

    def pause_view(self, request, pk):
        return self.step(request, pk, title=_("Pause the deadline"), form_class=ReasonForm,
                         done=_("Request #%(id)s is paused."),
                         run=lambda obj, data: services.request_pause(
                             request=obj, reason=data["reason"], actor=request.user))

    def resume_view(self, request, pk):
        return self.step(request, pk, title=_("Resume the deadline"), form_class=ReasonForm,
                         done=_("Request #%(id)s is running again."),
                         run=lambda obj, data: services.request_resume(
                             request=obj, reason=data["reason"], actor=request.user))
