from datetime import datetime, time

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone, translation
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from shipex_privacy.audit.access import access_record
from shipex_privacy.audit.admin import AuditedAdmin, ReadOnlyHistoryAdmin
from shipex_privacy.audit.models import AccessEvent
from shipex_privacy.catalogue.masking import MaskedFieldsMixin
from shipex_privacy.core.admin import admin_page
from shipex_privacy.core.steps import StepAdminMixin
from shipex_privacy.core.text import render_text

from . import ropa, services
from .export import plan_export, stored_file_matches
from .forms import DisclosureForm, NotifiedForm, ReasonForm, RopaForm, SendForm
from .models import DisclosedSubject, Disclosure, DisclosureExport, PublicChoice, Recipient


@admin.register(Recipient)
class RecipientAdmin(AuditedAdmin):
    list_display = ("legal_name", "tin", "country", "transfer_mechanism", "kind", "contract_reference",
                    "contract_ends_on", "obligations_accepted_on", "review_on", "active")
    list_filter = ("kind", "country", "transfer_mechanism", "active")
    search_fields = ("legal_name", "tin")
    filter_horizontal = ("services",)
    fieldsets = (
        (None, {"fields": ("legal_name", "tin", "country", "kind", "active", "review_on")}),
        (_("Contract (1.4.3.2)"), {"fields": ("contract_reference", "contract_starts_on", "contract_ends_on",
                                              "services")}),
        (_("Business transfer (1.4.3.4)"), {"fields": ("obligations_accepted_on", "obligations_document")}),
        (_("Cross-border transfer (ZRU-547 art. 15)"), {
            "fields": ("transfer_mechanism", "transfer_reference", "transfer_date"),
            "description": _("Only for a recipient outside Uzbekistan. The mechanisms follow ZRU-547 as amended by "
                             "ZRU-1125 of 26.03.2026 — to be confirmed by counsel."),
        }),
    )


@admin.register(PublicChoice)
class PublicChoiceAdmin(MaskedFieldsMixin, AuditedAdmin):
    list_display = ("subject", "field", "made_public_on")
    list_select_related = ("subject", "field")
    raw_id_fields = ("subject",)


class DisclosedSubjectInline(admin.TabularInline):
    model = DisclosedSubject
    extra = 0
    can_delete = False
    fields = ("subject", "notify_by", "exemption", "notified_at", "notification_channel", "notify")
    readonly_fields = fields

    def get_queryset(self, request):
        # The subject's name and the disclosure's state are shown on every row: one query, not one per row.
        return super().get_queryset(request).select_related("subject", "disclosure__recipient")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("notification"))
    def notify(self, row):
        if row.disclosure.is_sent and not row.exemption and not row.notified_at:
            return format_html('<a href="{}">{}</a>', reverse("admin:disclosures_disclosedsubject_notify",
                                                             args=[row.pk]), _("Notify"))
        return ""


class ApprovalFilter(admin.SimpleListFilter):
    """The home page's "waiting for my approval": submitted by a colleague, so never my own (four eyes)."""

    title = _("approval")
    parameter_name = "approval"

    def lookups(self, request, model_admin):
        return [("mine", _("Waiting for my approval"))]

    def queryset(self, request, queryset):
        if self.value() == "mine":
            return queryset.waiting_for_approval(request.user)
        return queryset


@admin.register(Disclosure)
class DisclosureAdmin(StepAdminMixin, AuditedAdmin):
    form = DisclosureForm
    inlines = [DisclosedSubjectInline]
    list_display = ("__str__", "purpose", "status", "created_by_username", "approved_by_username", "sent_at",
                    "record_count")
    list_filter = (ApprovalFilter, "status", "ground", "recipient")
    list_select_related = ("recipient", "purpose")
    filter_horizontal = ("fields",)
    EXPORT_PERMISSION = "disclosures.view_disclosureexport"
    show_full_result_count = False
    change_form_template = "admin/disclosures/disclosure/change_form.html"
    change_list_template = "admin/disclosures/disclosure/change_list.html"
    fieldsets = (
        (None, {"fields": ("recipient", "ground", "purpose", "service", "recipient_request", "delivery_method")}),
        (_("What is disclosed"), {"fields": ("fields", "aggregate_only", "subject_ids")}),
        (_("Legal reference (1.4.3.3)"), {"fields": ("legal_authority", "legal_document_number",
                                                    "legal_document_date")}),
        (_("Ground check"), {"fields": ("ground_check",)}),
        (_("Workflow"), {"fields": ("status", "created_by_username", "approved_by_username", "approved_at",
                                    "sent_at", "record_count", "payload_sha256", "export_file", "corrects")}),
    )
    # Sent disclosures keep their SHA-256 and count read-only, typed ones (before the export) included.
    readonly_fields = ("ground_check", "status", "created_by_username", "approved_by_username", "approved_at",
                       "sent_at", "record_count", "payload_sha256", "export_file", "corrects")

    @admin.display(description=_("export file"))
    def export_file(self, disclosure):
        export = DisclosureExport.objects.filter(disclosure_id=disclosure.pk).first() if disclosure.pk else None
        if export is None:
            if disclosure.is_sent:
                return _("Sent before the back office built exports: the SHA-256 and count were typed.")
            return _("Built when the disclosure is sent.")
        if not export.file:
            return format_html("{} <code>{}</code>", _("Erased at the end of its retention rule; SHA-256:"),
                               export.sha256)
        return format_html("{} · {} · <code>{}</code>", export.file.name.rsplit("/", 1)[-1],
                           _("%(count)s records") % {"count": export.record_count}, export.sha256)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        export = DisclosureExport.objects.filter(disclosure_id=object_id).exclude(file="").first() \
            if str(object_id).isdigit() else None
        if export is not None and request.user.has_perm(self.EXPORT_PERMISSION):
            extra_context["export_download_url"] = reverse("admin:disclosures_disclosure_export",
                                                           args=[export.disclosure_id])
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description=_("Checklist"))
    def ground_check(self, disclosure):
        if not disclosure.pk:
            return _("Save the draft to see the checklist for its ground.")
        return format_html(
            '<ul class="ground-check">{}</ul>',
            format_html_join("", '<li class="{}">{} {}: {}</li>', (
                ("passed" if finding.passed else "failed", "✓" if finding.passed else "✗", finding.clause,
                 finding.message)
                for finding in disclosure.recorded_ground_check()
            )),
        )

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None:  # a new draft has no checklist or workflow yet
            return [fieldset for fieldset in fieldsets if "ground_check" not in fieldset[1]["fields"]
                    and "status" not in fieldset[1]["fields"]]
        if obj.status != Disclosure.Status.DRAFT:
            # Outside a draft the subjects are shown in the table below, with their notifications.
            fieldsets[1] = (fieldsets[1][0], {"fields": ("fields", "aggregate_only")})
        return fieldsets

    def get_inline_instances(self, request, obj=None):
        # While a draft, the subjects are edited in the text box; the table comes with sending.
        return super().get_inline_instances(request, obj) if obj and obj.is_sent else []

    def has_change_permission(self, request, obj=None):
        # Only a draft is edited; every later step has its own button, and a sent one is frozen.
        return super().has_change_permission(request, obj) and (obj is None or obj.status == Disclosure.Status.DRAFT)

    def has_delete_permission(self, request, obj=None):
        return False  # a disclosure is evidence; a wrong one is returned to draft or corrected

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by_id, obj.created_by_username = request.user.pk, request.user.get_username()
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.disclosure_set_subjects(disclosure=form.instance, subjects=form.cleaned_data["subject_ids"],
                                         actor=request.user, reason=self.reason(form))

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            *self.step_urls(
                ("<int:pk>/submit/", self.submit_view, "disclosures_disclosure_submit"),
                ("<int:pk>/approve/", self.approve_view, "disclosures_disclosure_approve"),
                ("<int:pk>/return/", self.return_view, "disclosures_disclosure_return"),
                ("<int:pk>/send/", self.send_view, "disclosures_disclosure_send"),
                ("<int:pk>/correct/", self.correct_view, "disclosures_disclosure_correct"),
            ),
            path("<int:pk>/export/", view(self.export_view), name="disclosures_disclosure_export"),
            path("ropa/", view(self.ropa_view), name="disclosures_disclosure_ropa"),
            *super().get_urls(),
        ]

    def step(self, request, pk, *, permission: str, note="", **kwargs):
        """A disclosure's step: its checklist, then the service. Each step has its own permission
        (has_change_permission is for drafts only); a refusal goes back to the disclosure's page."""
        disclosure = self.step_object(request, pk, permission)
        notes = [note] if note else []
        if disclosure.status == Disclosure.Status.DRAFT:
            notes.append(_("Changes not saved on the draft's page are not part of this step: save them first."))
        back = self.step_back_url(disclosure)
        return super().step(request, pk, obj=disclosure, permission=permission, notes=notes, back=back,
                            refused_url=back, summary=f"{disclosure} — {disclosure.get_status_display()}",
                            checklist_title=_("Ground check"), checklist=disclosure.check_ground(),
                            success_url=lambda d, result: self.step_back_url(result or d), **kwargs)

    def submit_view(self, request, pk):
        return self.step(request, pk, title=_("Submit for approval"), permission="disclosures.change_disclosure",
                         done=_("Disclosure № %(id)s is submitted for approval."),
                         run=lambda d, data: services.disclosure_submit(disclosure=d, actor=request.user))

    def approve_view(self, request, pk):
        return self.step(
            request, pk, title=_("Approve"), permission="disclosures.approve_disclosure",
            done=_("Disclosure № %(id)s is approved."),
            note=_("You confirm the ground holds as the checklist shows. You cannot approve what you created."),
            run=lambda d, data: services.disclosure_approve(disclosure=d, approver=request.user),
        )

    def return_view(self, request, pk):
        return self.step(request, pk, title=_("Return to draft"), permission="disclosures.approve_disclosure",
                         done=_("Disclosure № %(id)s is back in draft."),
                         form_class=ReasonForm, run=lambda d, data: services.disclosure_return(
                             disclosure=d, actor=request.user, reason=data["reason"]))

    def send_view(self, request, pk):
        disclosure = self.step_object(request, pk, "disclosures.change_disclosure")
        preview = []
        if disclosure.status == Disclosure.Status.APPROVED:
            try:
                preview = self.send_preview(disclosure)
            except ValidationError as error:
                preview = [(_("The export cannot be built"), error.messages)]
        version = services.disclosure_version(disclosure)
        return self.step(
            request, pk, title=_("Build and send"), permission="disclosures.change_disclosure",
            make_form=lambda d, data: SendForm(data, request.FILES if data is not None else None, disclosure=d,
                                               initial={"version": version}),
            done=_("Disclosure № %(id)s is built and recorded as sent, and is now frozen."),
            note=_("The back office builds the file (CSV and JSON of exactly the approved fields of the approved "
                   "subjects), computes its SHA-256 and keeps it in private storage. After this the disclosure "
                   "can never be changed; a mistake is corrected by a new disclosure."),
            preview=preview,
            run=lambda d, data: services.disclosure_send(
                disclosure=d, actor=request.user, based_on=data["version"], statistics=data.get("statistics")),
        )

    @staticmethod
    def send_preview(disclosure) -> list:
        """What the send step will build: counts, fields, and the systems whose owners provide the rest."""
        if disclosure.aggregate_only:
            return [(_("Aggregate data only"), [_("No subject's records: the statistics file you attach is sent, "
                                                  "and its SHA-256 is computed from it.")])]
        plan = plan_export(disclosure)
        return [
            (_("Records"), [_("%(count)s subjects, one record each, in CSV and JSON") % {
                "count": len(plan.subject_ids)}]),
            (_("Fields in the file"), [f"{item.entry.code} — {item.entry.name}" for item in plan.bound]),
            (_("Held in other systems (not in the file; for the system's owner to provide)"), [
                _("%(system)s (owner: %(owner)s): %(fields)s") % {
                    "system": about["name"], "owner": about["owner"], "fields": ", ".join(about["fields"])}
                for about in plan.elsewhere]),
        ]

    def export_view(self, request, pk):
        """Download the file a disclosure sent: checked against its SHA-256 first, every download logged."""
        export = get_object_or_404(DisclosureExport.objects.select_related("disclosure"), disclosure_id=pk)
        if not request.user.has_perm(self.EXPORT_PERMISSION):
            raise PermissionDenied
        back = reverse("admin:disclosures_disclosure_change", args=[pk])
        if not export.file:
            self.message_user(request, _("The file of this export was erased at the end of its retention rule; its "
                                         "SHA-256 stays as proof."), messages.WARNING)
            return redirect(back)
        if not export.file.storage.exists(export.file.name):
            self.message_user(request, _("The file of this export is missing from private storage."), messages.ERROR)
            return redirect(back)
        if not stored_file_matches(export):
            self.message_user(request, _("The stored file of disclosure № %(id)s no longer matches the SHA-256 "
                                         "recorded when it was sent; it was not served. Tell the security team.")
                              % {"id": pk}, messages.ERROR)
            return redirect(back)
        access_record(request=request, action=AccessEvent.Action.EXPORT, obj=export.disclosure,
                      detail=f"Disclosure № {pk} export · {export.record_count} subjects · sha256 {export.sha256}")
        name = export.file.name.rsplit("/", 1)[-1]
        suffix = name.rsplit(".", 1)[-1] if "." in name else "bin"
        return FileResponse(export.file.open("rb"), as_attachment=True,
                            filename=f"shipex-disclosure-{pk}.{suffix}")

    def correct_view(self, request, pk):
        return self.step(request, pk, title=_("Correct with a new disclosure"),
                         done=_("A correction of disclosure № %(id)s is drafted."),
                         permission="disclosures.add_disclosure", form_class=ReasonForm,
                         run=lambda d, data: services.disclosure_correct(disclosure=d, actor=request.user,
                                                                         reason=data["reason"]))

    def ropa_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = RopaForm(request.GET or None)
        as_of_date = form.cleaned_data["as_of"] if form.is_valid() else None
        as_of = timezone.make_aware(datetime.combine(as_of_date, time.max)) if as_of_date else None
        activities, rows = ropa.build_activities(as_of), ropa.build(as_of)
        title = _("Records of processing as of %(date)s") % {
            "date": f"{as_of_date or timezone.localdate():%d.%m.%Y}"}
        export = request.GET.get("format")
        if export in ("csv", "xlsx"):
            # A CSV holds one table: the activities, or the field-level view with sheet=fields.
            field_level = export == "csv" and request.GET.get("sheet") == "fields"
            self.log_export(request, f"{export} (field level)" if field_level else export, as_of_date)
            stamp = f"{as_of_date or timezone.localdate():%Y-%m-%d}"
            if export == "csv":
                content = ropa.as_csv(rows) if field_level else ropa.activities_as_csv(activities)
                response = HttpResponse(content, content_type="text/csv; charset=utf-8")
            else:
                response = HttpResponse(
                    ropa.as_xlsx(activities, rows, str(title)),
                    content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                )
            name = f"shipex-ropa-{'fields-' if field_level else ''}{stamp}.{export}"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        return admin_page(self, request, "admin/disclosures/disclosure/ropa.html", title, form=form, rows=rows,
                          headers=ropa.RopaRow.HEADERS, activities=activities,
                          activity_headers=ropa.ActivityRow.HEADERS, query=request.GET.urlencode(), as_of=as_of)

    def log_export(self, request, export: str, as_of_date) -> None:
        """Exports are reads of the record; the access log keeps them."""
        access_record(request=request, action=AccessEvent.Action.EXPORT,
                      detail=f"RoPA {export} as of {as_of_date or 'today'}")


@admin.register(DisclosedSubject)
class DisclosedSubjectAdmin(MaskedFieldsMixin, ReadOnlyHistoryAdmin):
    """The notification queue: who must be told of a disclosure, by when (ZRU-547 art. 23)."""

    list_display = ("subject", "disclosure", "notify_by", "overdue", "exemption", "notified_at",
                    "notification_channel")
    list_filter = ("exemption", "notification_channel", "notify_by")
    list_select_related = ("subject", "disclosure__recipient")
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).filter(disclosure__sent_at__isnull=False)

    @admin.display(description=_("overdue"), boolean=True)
    def overdue(self, row):
        return bool(row.notify_by and not row.notified_at and not row.exemption
                    and row.notify_by < timezone.localdate())

    def get_urls(self):
        return [
            path("<int:pk>/notify/", self.admin_site.admin_view(self.notify_view),
                 name="disclosures_disclosedsubject_notify"),
            path("overdue/", self.admin_site.admin_view(self.overdue_view),
                 name="disclosures_disclosedsubject_overdue"),
            *super().get_urls(),
        ]

    def overdue_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        rows = (DisclosedSubject.objects.notifications_overdue()
                .select_related("subject", "disclosure__recipient").order_by("notify_by")[:500])
        return admin_page(self, request, "admin/disclosures/disclosedsubject/overdue.html",
                          _("Notifications overdue"), rows=rows)

    def notify_view(self, request, pk):
        row = get_object_or_404(DisclosedSubject.objects.select_related("subject", "disclosure__recipient",
                                                                        "disclosure__purpose"), pk=pk)
        if not request.user.has_perm("disclosures.change_disclosedsubject"):
            raise PermissionDenied
        if not row.disclosure.is_sent:
            # A letter about data not (yet) given would tell the subject something untrue, dated today.
            self.message_user(request, _("Disclosure № %(id)s has not been sent; there is no notification to "
                                         "write yet.") % {"id": row.disclosure_id}, messages.ERROR)
            return redirect("admin:disclosures_disclosure_change", row.disclosure_id)
        form = NotifiedForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.notification_mark_sent(disclosed=row, channel=form.cleaned_data["channel"],
                                                at=form.cleaned_data["at"], actor=request.user)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(request, _("Notification recorded."), messages.SUCCESS)
                return redirect("admin:disclosures_disclosure_change", row.disclosure_id)
        # The letter names the subject and the data given: a read the access log keeps.
        access_record(request=request, action=AccessEvent.Action.SUBJECT_VIEW, obj=row, subject_id=row.subject_id,
                      detail="disclosure notification letter")
        with translation.override(row.subject.preferred_language):
            text = render_text("disclosures/notification.txt", {
                "subject": row.subject, "disclosure": row.disclosure,
                "fields": row.disclosure.fields.all(), "sent_on": timezone.localdate(row.disclosure.sent_at),
            })
        return admin_page(self, request, "admin/disclosures/disclosedsubject/notify.html",
                          _("Notify %(subject)s") % {"subject": row.subject}, row=row, form=form, text=text)

