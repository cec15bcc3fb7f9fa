import re
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from shipex_privacy.audit.access import access_record
from shipex_privacy.audit.admin import AuditedAdmin
from shipex_privacy.audit.models import AccessEvent
from shipex_privacy.catalogue.masking import mask_value
from shipex_privacy.core.admin import admin_page
from shipex_privacy.core.i18n import shown_column
from shipex_privacy.core.steps import StepAdminMixin
from shipex_privacy.subjects.models import DataSubject

from . import responses, services
from .access_package import access_package_build
from .dashboard import dashboard_chart, dashboard_rows
from .erasure import erasure_override_open_tasks, erasure_preview, erasure_task_done, request_erase, stop_preview
from .forms import (
    AssignActionForm,
    CloseForm,
    CorrectionForms,
    ExtendForm,
    MatchForm,
    MoveForm,
    ReasonForm,
    ResponseTemplateForm,
    SubjectRequestForm,
    TaskDoneForm,
    VerifyForm,
    WithdrawConsentsForm,
)
from .models import AccessPackage, DeadlineChange, DeadlineRule, ErasureItem, ResponseTemplate, SubjectRequest

DUE_SOON_DAYS = 3
MATCH_CANDIDATES = 10
# The work page a request of each kind goes to once its requester's identity is verified.
NEXT_WORK = {
    SubjectRequest.Kind.ACCESS: "build", SubjectRequest.Kind.INFORMATION: "build",
    SubjectRequest.Kind.CORRECTION: "correct", SubjectRequest.Kind.ERASURE: "erase",
    SubjectRequest.Kind.CONSENT_WITHDRAWAL: "withdraw", SubjectRequest.Kind.ADVERTISING_OBJECTION: "withdraw",
    SubjectRequest.Kind.STOP: "stop",
}
PREFILLED_SUBJECT = "subject"  # ?subject=<id> on the add page: the subject page's "New request" button
SUBJECT_ID_RE = re.compile(r"[0-9]{1,18}")  # ASCII digits, within a bigint


@admin.register(DeadlineRule)
class DeadlineRuleAdmin(AuditedAdmin):
    list_display = ("kind", "days", "day_count", "extension_days", shown_column(DeadlineRule, "legal_reference"),
                    shown_column(DeadlineRule, "note"))
    fields = ("kind", "days", "day_count", "extension_days", "legal_reference", "legal_reference_uz",
              "legal_reference_ru", "note", "note_uz", "note_ru")

    def has_delete_permission(self, request, obj=None):
        return False  # every kind needs a rule; change the days instead


@admin.register(ResponseTemplate)
class ResponseTemplateAdmin(AuditedAdmin):
    form = ResponseTemplateForm
    list_display = ("kind", "outcome", "language")
    list_filter = ("kind", "outcome", "language")
    fields = ("kind", "outcome", "language", "body", "placeholders")
    readonly_fields = ("placeholders",)

    @admin.display(description=_("placeholders"))
    def placeholders(self, obj=None):
        return format_html_join(mark_safe("<br>"), "{{{}}} — {}", ResponseTemplate.PLACEHOLDERS.items())

    def has_delete_permission(self, request, obj=None):
        return False  # a kind without its template leaves agents writing from scratch; edit the text


class QueueFilter(admin.SimpleListFilter):
    """The queue shows open requests unless asked otherwise: a status chosen, a search for a request
    number, or "All requests". Open requests in the queue's order are one partial index
    (``subject_request_open_due_idx``) read in order, so the page does not sort every request."""

    title = _("queue")
    parameter_name = "queue"
    ALL = "all"

    def lookups(self, request, model_admin):
        return [("mine", _("My requests")), ("unassigned", _("Unassigned")),
                ("due_soon", _("Due in %(days)s days") % {"days": DUE_SOON_DAYS}), ("overdue", _("Overdue")),
                (self.ALL, _("All requests"))]

    def shows_open_by_default(self, request) -> bool:
        return self.value() is None and not request.GET.get("status__exact") and not request.GET.get(SEARCH_VAR)

    def choices(self, changelist):
        default = self.shows_open_by_default(self.request)
        yield {"selected": default, "query_string": changelist.get_query_string(remove=[self.parameter_name]),
               "display": _("Open requests")}
        for lookup, title in self.lookup_choices:
            selected = self.value() == str(lookup) or (lookup == self.ALL and self.value() is None and not default)
            yield {"selected": selected, "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                   "display": title}

    def queryset(self, request, queryset):
        if self.shows_open_by_default(request):
            return queryset.open()
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
    fields = ("at", "kind", "days", "due_before", "due_after", "reason", "by_username", "beyond_rule", "letter_text")
    readonly_fields = fields

    @admin.display(description=_("letter to the subject"))
    def letter_text(self, change):
        return format_html('<div class="letter-text">{}</div>', change.letter) if change.letter else "—"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AccessPackageInline(admin.TabularInline):
    model = AccessPackage
    extra = 0
    can_delete = False
    fields = ("built_at", "built_by_username", "language", "record_count", "size", "sha256", "download")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):
        # The file is the subject's data unmasked: only those who answer requests download it.
        if request.user.has_perm("rights_requests.change_subjectrequest"):
            return self.fields
        return tuple(name for name in self.fields if name != "download")

    @admin.display(description=_("download"))
    def download(self, package):
        if not package.file:
            return _("file erased")
        url = reverse("admin:rights_requests_subjectrequest_package", args=[package.request_id, package.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download (logged)"))


class ErasureItemInline(admin.TabularInline):
    """The erasure's result report: one line per catalogue entry; tasks are ticked off from here."""

    model = ErasureItem
    extra = 0
    can_delete = False
    fields = ("field", "outcome", "rows", "kept_under", "kept_until", "task")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("field", "system")

    @admin.display(description=_("task"))
    def task(self, item):
        if item.outcome != ErasureItem.Outcome.TASK:
            return "—"
        if item.task_done_at:
            return format_html("✔ {} · {} {}", item.task_done_by_username,
                               f"{timezone.localtime(item.task_done_at):%d.%m.%Y %H:%M}", item.task_note)
        url = reverse("admin:rights_requests_subjectrequest_task", args=[item.request_id, item.pk])
        return format_html('{} ({}) · <a href="{}">{}</a>', item.system.shown.owner, item.system.owner_email or "—",
                           url, _("Mark done"))


@admin.register(SubjectRequest)
class SubjectRequestAdmin(StepAdminMixin, AuditedAdmin):
    # The model permission, not has_change_permission: an erasure request is still worked (closed)
    # once its subject is erased; the services refuse what the request's state does not allow.
    step_permission = "rights_requests.change_subjectrequest"
    form = SubjectRequestForm
    action_form = AssignActionForm
    actions = ["assign_selected"]
    inlines = [DeadlineChangeInline, AccessPackageInline, ErasureItemInline]
    list_display = ("__str__", "status", "channel", "received_at", "due", "subject", "assignee_username",
                    "duplicate_of")
    list_filter = (QueueFilter, "status", "kind", "channel")
    list_select_related = ("subject", "duplicate_of")
    list_per_page = 50  # a screen of work; the queue's order puts the most urgent first
    # The search is our own (get_search_results); search_fields only turns the box on.
    search_fields = ("=id",)
    search_help_text = _("Request number (42, #42, DSR #42), or the subject's account id, phone, e-mail or PINFL, "
                         "or the requester's contact as given — exact match.")
    show_full_result_count = False
    change_form_template = "admin/rights_requests/subjectrequest/change_form.html"
    readonly_fields = ("masked_requester_contact", "subject", "status", "due_at", "day_count", "refuse_by",
                       "paused_at", "duplicate_of", "assignee_username", "identity_method",
                       "identity_verified_by_username", "identity_verified_at", "closed_at", "carried_out_at",
                       "tasks_overridden_by_username", "tasks_overridden_at", "tasks_override_reason")

    def get_fieldsets(self, request, obj=None):
        request_fields = ("kind", "channel", "received_at", "requester_name", "requester_contact", "details")
        if obj is None:
            prefilled = ("subject",) if self.prefilled_subject(request) else ()
            fieldsets = [(None, {"fields": (*prefilled, *request_fields)})]
        else:
            fieldsets = [
                (None, {"fields": ("status", "subject", "due_at", "day_count", "refuse_by", "paused_at",
                                   "duplicate_of", "assignee_username", "closed_at")}),
                (_("The request"), {"fields": request_fields if self.can_write(request, obj) else tuple(
                    "masked_requester_contact" if name == "requester_contact" else name for name in request_fields)}),
                (_("Identity"), {"fields": ("identity_method", "identity_verified_by_username",
                                            "identity_verified_at")}),
                (_("Work"), {"fields": ("internal_notes", "response_text", "carried_out_at")}),
            ]
            if obj.tasks_overridden:
                fieldsets.append((_("Closing with open tasks"), {"fields": (
                    "tasks_overridden_by_username", "tasks_overridden_at", "tasks_override_reason")}))
        if self.can_write(request, obj):
            fieldsets.append(self.reason_fieldset())
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ("subject",) if self.prefilled_subject(request) else ()
        fixed = ("kind", "received_at") if obj.is_open else ("kind", "received_at", "channel", "requester_name",
                                                              "requester_contact", "details", "internal_notes",
                                                              "response_text")
        return (*self.readonly_fields, *fixed)

    def has_delete_permission(self, request, obj=None):
        return False  # a request is evidence of how ShipEx answered; it is closed, never deleted

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset & SubjectRequest.objects.search(search_term), False

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        term = request.GET.get(SEARCH_VAR, "")
        changelist = getattr(response, "context_data", {}).get("cl")
        if term.strip() and response.status_code == 200 and changelist is not None:
            # A phone or a contact typed into the queue is personal data: logged, hashed, as the subject search.
            access_record(request=request, action=AccessEvent.Action.SUBJECT_SEARCH, search_term=term,
                          detail=f"requests results={changelist.result_count}")
        return response

    # "New request" on the subject page opens the add page with ?subject=<id>: the request is received
    # for that subject (the add form posts back to the same address, so the POST carries it too).

    def prefilled_subject(self, request) -> DataSubject | None:
        """The subject ?subject= names, read once per request; None when absent, malformed, unknown or erased."""
        if not hasattr(request, "_prefilled_subject"):
            typed = request.GET.get(PREFILLED_SUBJECT, "")
            subject = None
            if SUBJECT_ID_RE.fullmatch(typed):
                subject = DataSubject.objects.filter(pk=int(typed)).first()
            request._prefilled_subject = subject if subject is not None and not subject.is_erased else None
        return request._prefilled_subject

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        subject = self.prefilled_subject(request) if obj is None else None
        if subject is None:
            return form

        class PrefilledSubjectForm(form):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                self.instance.subject = subject  # shown read-only; received for it by save_model

        return PrefilledSubjectForm

    def add_view(self, request, form_url="", extra_context=None):
        typed = request.GET.get(PREFILLED_SUBJECT)
        subject = self.prefilled_subject(request) if typed is not None else None
        if typed is not None and subject is None and request.method == "GET":
            self.message_user(request, _("No open data subject has the id “%(id)s”; this request will be received "
                                         "without a subject, to be matched later.") % {"id": typed[:20]},
                              messages.WARNING)
        response = super().add_view(request, form_url, extra_context)
        if subject is not None and request.method == "GET" and response.status_code == 200:
            # The page names the subject: a read of their data (clause 1.7.1).
            access_record(request=request, action=AccessEvent.Action.SUBJECT_VIEW, obj=subject,
                          subject_id=subject.pk, detail="new request")
        return response

    def get_inlines(self, request, obj=None):
        if obj is None:
            return []  # deadline changes, packages and erasure results come later
        return [DeadlineChangeInline,
                *([AccessPackageInline] if obj.kind in (SubjectRequest.Kind.ACCESS, SubjectRequest.Kind.INFORMATION)
                  else []),
                *([ErasureItemInline] if obj.kind == SubjectRequest.Kind.ERASURE else [])]

    @admin.display(description=_("requester's contact, as given"))
    def masked_requester_contact(self, obj):
        """For staff who only read: the contact masked like the subject's identifiers (clause 1.7.1)."""
        return mask_value(SubjectRequest, "requester_contact", obj.requester_contact) or "—"

    # The request page and its history show the requester's contact (masked or not) and the matched
    # subject: each open is a read of personal data, in the access log (clause 1.7.1).

    def log_read(self, request, object_id, response, detail=""):
        obj = self.get_object(request, unquote(object_id)) if response.status_code == 200 else None
        if obj is not None:
            access_record(request=request, action=AccessEvent.Action.SUBJECT_VIEW, obj=obj,
                          subject_id=obj.subject_id, detail=detail)
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return self.log_read(request, object_id, super().change_view(request, object_id, form_url, extra_context))

    def history_view(self, request, object_id, extra_context=None):
        return self.log_read(request, object_id, super().history_view(request, object_id, extra_context),
                             detail="history")

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        response = super().history_form_view(request, object_id, version_id, extra_context)
        return self.log_read(request, object_id, response, detail=f"version={version_id}")

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
            details=data["details"], subject=self.prefilled_subject(request),
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
            *self.step_urls(
                ("<int:pk>/match/", self.match_view, "rights_requests_subjectrequest_match"),
                ("<int:pk>/verify/", self.verify_view, "rights_requests_subjectrequest_verify"),
                ("<int:pk>/move/", self.move_view, "rights_requests_subjectrequest_move"),
                ("<int:pk>/extend/", self.extend_view, "rights_requests_subjectrequest_extend"),
                ("<int:pk>/pause/", self.pause_view, "rights_requests_subjectrequest_pause"),
                ("<int:pk>/resume/", self.resume_view, "rights_requests_subjectrequest_resume"),
                ("<int:pk>/stop/", self.stop_view, "rights_requests_subjectrequest_stop"),
                ("<int:pk>/withdraw/", self.withdraw_view, "rights_requests_subjectrequest_withdraw"),
                ("<int:pk>/override/", self.override_view, "rights_requests_subjectrequest_override"),
                ("<int:pk>/correct/", self.correct_view, "rights_requests_subjectrequest_correct"),
                ("<int:pk>/package/", self.build_package_view, "rights_requests_subjectrequest_build"),
                ("<int:pk>/erase/", self.erase_view, "rights_requests_subjectrequest_erase"),
                ("<int:pk>/close/", self.close_view, "rights_requests_subjectrequest_close"),
                ("<int:pk>/refuse/", self.refuse_view, "rights_requests_subjectrequest_refuse"),
            ),
            path("<int:pk>/package/<int:package_pk>/", view(self.download_package_view),
                 name="rights_requests_subjectrequest_package"),
            path("<int:pk>/task/<int:item_pk>/", view(self.task_view), name="rights_requests_subjectrequest_task"),
            path("dashboard/", view(self.dashboard_view), name="rights_requests_subjectrequest_dashboard"),
            *super().get_urls(),
        ]

    def step(self, request, pk, **kwargs):
        """A request's step: the page names the request, its state and its subject."""
        obj = kwargs.pop("obj", None) or self.step_object(request, pk, kwargs.get("permission"))
        summary = f"{obj} — {obj.get_status_display()}" + (f" · {obj.subject}" if obj.subject_id else "")
        kwargs.setdefault("summary", summary)
        return super().step(request, pk, obj=obj, request_obj=obj, **kwargs)

    def match_view(self, request, pk):
        obj = self.step_object(request, pk)
        # Pre-filled with the contact the requester gave; ?term= searches for another.
        term = (request.GET.get("term") or obj.requester_contact).strip()
        candidates = list(services.subjects_matching(term)[:MATCH_CANDIDATES]) if term else []
        return self.step(request, pk, obj=obj, title=_("Match to a subject"),
                         make_form=lambda obj, data: MatchForm(data, initial={"term": term}),
                         done=_("Request #%(id)s is matched to a subject."),
                         choice_name="term", choices_label=_("Subjects found by “%(term)s”:") % {"term": term},
                         choice_buttons=[(subject.account_id, _("This is %(subject)s") % {"subject": subject})
                                         for subject in candidates],
                         no_choices=_("No subject has exactly this phone, e-mail, account id or PINFL; type "
                                      "another.") if term and not candidates else "",
                         success_url=lambda obj, result: reverse("admin:rights_requests_subjectrequest_verify",
                                                                 args=[obj.pk]),
                         run=lambda obj, data: services.request_match_subject(
                             request=obj, term=data["term"], actor=request.user))

    def verify_view(self, request, pk):
        # One button a method: the click records the check and moves the request on to its work.
        return self.step(request, pk, title=_("Record identity verification"), form_class=VerifyForm,
                         done=_("Identity verified for request #%(id)s; it is in progress."),
                         intro=_("How was the identity verified? The request then moves on to its work."),
                         choice_name="method", hide_form=True,
                         choice_buttons=SubjectRequest.IdentityMethod.choices,
                         success_url=lambda obj, result: self.next_work_url(result),
                         run=lambda obj, data: services.request_verify_and_start(
                             request=obj, method=data["method"], actor=request.user))

    def next_work_url(self, obj) -> str:
        """After the identity check, the page of the work this kind of request needs, if it has one."""
        step = NEXT_WORK.get(obj.kind) if obj.status == SubjectRequest.Status.IN_PROGRESS else None
        return reverse(f"admin:rights_requests_subjectrequest_{step or 'change'}", args=[obj.pk])

    def move_view(self, request, pk):
        def make_form(obj, data):
            # ?template=done|refused drafts the response from the template in the subject's language.
            outcome = request.GET.get("template")
            if data is not None or outcome not in ResponseTemplate.CLOSING_OUTCOMES:
                return MoveForm(data, request_obj=obj)
            try:
                draft = responses.response_from_template(obj, outcome)
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.WARNING)
                draft = obj.response_text
            return MoveForm(initial={"status": outcome, "response_text": draft}, request_obj=obj)

        return self.step(request, pk, title=_("Move the request"), form_class=MoveForm, make_form=make_form,
                         links_label=_("Draft the response from a template:"),
                         links=[("?template=done", _("done")), ("?template=refused", _("refused"))],
                         done=_("Request #%(id)s moved."),
                         run=lambda obj, data: services.request_move(
                             request=obj, status=data["status"], actor=request.user,
                             response_text=data["response_text"] or None, note=data["note"]))

    def close_view(self, request, pk):
        return self.close_step(request, pk, SubjectRequest.Status.DONE, title=_("Close with the template's answer"),
                               done=_("Request #%(id)s is done; the response is recorded."))

    def refuse_view(self, request, pk):
        return self.close_step(request, pk, SubjectRequest.Status.REFUSED, title=_("Refuse with the template's answer"),
                               done=_("Request #%(id)s is refused; the response is recorded."))

    def close_step(self, request, pk, status, *, title, done):
        """Closing in one step: the template's answer in the subject's language, shown to read (and
        edit) before it is recorded, and what is still missing said before the agent confirms."""
        obj = self.step_object(request, pk)
        notes = []
        if not obj.can_move_to(status):
            notes.append(_("Request #%(id)s is %(current)s; it cannot move to “%(target)s”.") % {
                "id": obj.pk, "current": obj.get_status_display().lower(), "target": status.label})
        elif status == SubjectRequest.Status.DONE and (missing := obj.work_missing()):
            notes.append(missing)

        def make_form(obj, data):
            if data is not None:
                return CloseForm(data)
            try:
                draft = responses.response_from_template(obj, status.value)
            except ValidationError as error:
                notes.extend(error.messages)
                draft = obj.response_text
            return CloseForm(initial={"response_text": draft})

        return self.step(request, pk, obj=obj, title=title, make_form=make_form, notes=notes, done=done,
                         intro=_("This is the response the subject receives, from the template in their language. "
                                 "Read it, change it if needed, and confirm to close the request."),
                         run=lambda obj, data: services.request_move(
                             request=obj, status=status, actor=request.user, response_text=data["response_text"],
                             note=data["note"]))

    def stop_view(self, request, pk):
        obj = self.step_object(request, pk)
        # Irreversible for the subject's sessions and consents: what will happen is shown before confirming.
        preview = stop_preview(obj) if obj.subject_id and obj.is_open else []
        return self.step(request, pk, obj=obj, title=_("Stop processing (1.5.2)"), form_class=forms.Form,
                         preview=preview, submit_label=_("Confirm: stop processing"),
                         done=_("Request #%(id)s: the subject is logged out and consents in force are withdrawn."),
                         run=lambda obj, data: services.request_stop_processing(request=obj, actor=request.user))

    def withdraw_view(self, request, pk):
        def make_form(obj, data):
            return WithdrawConsentsForm(data, queryset=services.consents_to_withdraw(obj))

        def run(obj, data):
            return services.request_withdraw_consents(request=obj, consents=data["consents"], actor=request.user)

        return self.step(request, pk, title=_("Withdraw consents (1.5)"), form_class=WithdrawConsentsForm,
                         make_form=make_form, run=run,
                         done=_("Request #%(id)s: the withdrawal is recorded in the consent ledger."),
                         intro=_("Tick the consents the subject withdraws; each withdrawal is recorded in the "
                                 "consent ledger from now on, naming this request. With no consent in force, "
                                 "confirming records that there was nothing to withdraw."))

    def override_view(self, request, pk):
        return self.step(request, pk, title=_("Let the erasure close with open tasks"), form_class=ReasonForm,
                         permission="rights_requests.override_open_tasks",
                         done=_("Request #%(id)s may close; its open tasks stay open to be ticked off."),
                         intro=_("For a compliance officer: the response will say that these tasks were passed on "
                                 "to the systems' owners, not that they are done."),
                         run=lambda obj, data: erasure_override_open_tasks(
                             request=obj, reason=data["reason"], actor=request.user))

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

    def correct_view(self, request, pk):
        # The page shows the subject's identifiers in full: only for a verified, open correction
        # request, and each showing is a logged read of the subject.
        obj = self.step_object(request, pk)
        try:
            obj.refuse_unless_workable(SubjectRequest.Kind.CORRECTION)
        except ValidationError as error:
            for message in error.messages:
                self.message_user(request, message, messages.ERROR)
            return redirect("admin:rights_requests_subjectrequest_change", pk)
        if request.method == "GET":
            access_record(request=request, action=AccessEvent.Action.SUBJECT_VIEW, obj=obj.subject,
                          subject_id=obj.subject_id, detail=f"DSR #{pk}: correction")
        built = {}

        def make_form(obj, data):
            built["forms"] = CorrectionForms(data, type(obj.subject).objects.get(pk=obj.subject_id))
            return built["forms"]

        def run(obj, data):
            return services.request_correct_subject(request=obj, changes=built["forms"].changes(), actor=request.user,
                                                    address_changes=built["forms"].address_changes())

        return self.step(request, pk, obj=obj, title=_("Correct the subject's data (1.5.1)"),
                         make_form=make_form, run=run, done=_("The subject's data is corrected for request #%(id)s."),
                         intro=_("The history of the subject records this request as the reason."))

    def build_package_view(self, request, pk):
        return self.step(request, pk, title=_("Build the access package"), form_class=forms.Form,
                         done=_("The access package for request #%(id)s is built."),
                         intro=_("A zip with every piece of the subject's data we hold, as JSON and as a "
                                 "readable page in the subject's language."),
                         run=lambda obj, data: access_package_build(request=obj, actor=request.user))

    def download_package_view(self, request, pk, package_pk):
        package = get_object_or_404(AccessPackage.objects.select_related("request"), pk=package_pk, request_id=pk)
        if not request.user.has_perm("rights_requests.change_subjectrequest"):
            raise PermissionDenied  # the file holds the subject's data unmasked: for those who answer requests
        if not package.file:
            self.message_user(request, _("The file of this package was erased; its SHA-256 stays as proof."),
                              messages.ERROR)
            return redirect("admin:rights_requests_subjectrequest_change", pk)
        if not package.file.storage.exists(package.file.name):
            self.message_user(request, _("The file of this package is missing; build the package again."),
                              messages.ERROR)
            return redirect("admin:rights_requests_subjectrequest_change", pk)
        access_record(request=request, action=AccessEvent.Action.ACCESS_PACKAGE, obj=package,
                      subject_id=package.request.subject_id, detail=f"DSR #{pk} · sha256 {package.sha256}")
        return FileResponse(package.file.open("rb"), as_attachment=True,
                            filename=f"shipex-access-package-{pk}-{package.pk}.zip")

    def erase_view(self, request, pk):
        obj = self.step_object(request, pk)
        # Irreversible: what is erased, kept (and why, until when), withdrawn and passed on, before confirming.
        carried_out = obj.erasure_items.exists()
        preview = erasure_preview(obj) if obj.subject_id and obj.is_open and not carried_out else []
        return self.step(request, pk, obj=obj, title=_("Erase the subject's data (catalogue-driven)"),
                         form_class=forms.Form, preview=preview, submit_label=_("Confirm: erase"),
                         done=_("Erasure for request #%(id)s is done; see the result report below."),
                         intro=_("Data under statutory retention is kept and the report says until when; data "
                                 "held in other systems becomes a task for each system's owner."),
                         run=lambda obj, data: request_erase(request=obj, actor=request.user))

    def task_view(self, request, pk, item_pk):
        item = get_object_or_404(ErasureItem.objects.select_related("field", "system"), pk=item_pk, request_id=pk)
        return self.step(request, pk, title=_("Mark the task done: %(code)s in %(system)s") % {
                             "code": item.field.code, "system": item.system.shown.name},
                         form_class=TaskDoneForm, done=_("Task ticked off for request #%(id)s."),
                         run=lambda obj, data: erasure_task_done(item=item, actor=request.user, note=data["note"]))

    def dashboard_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        rows = dashboard_rows()
        return admin_page(self, request, "admin/rights_requests/subjectrequest/dashboard.html",
                          _("Requests dashboard"), rows=rows, chart=dashboard_chart(rows),
                          chart_height=len(rows) * 28 + 14)
