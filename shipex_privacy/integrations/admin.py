"""API clients for the compliance team: create one (its token shown once), rotate its token with an
overlap, revoke it; every step is an integrations service, so history names the officer.

A token is never stored and never passes through a message, a session or a redirect: it is on the
one page that answers the POST that issued it, sent with ``Cache-Control: no-store``.
"""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Max
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from shipex_privacy.audit.admin import AuditedAdmin, ChangeReasonForm, ReadOnlyHistoryAdmin
from shipex_privacy.audit.events import AuditEvent
from shipex_privacy.audit.services import record_save
from shipex_privacy.core.admin import ReadOnlyAdminMixin, admin_page
from shipex_privacy.rights_requests.models import SubjectRequest

from . import services
from .models import (
    HANDLED_KINDS,
    ApiClient,
    ApiToken,
    DeliveryAttempt,
    OutboxMessage,
    Scope,
    SystemIntegration,
    SystemTask,
)

ISSUED_PAGE = "admin/integrations/apiclient/token.html"
ACTION_TEMPLATE = "admin/integrations/apiclient/action.html"
MAX_OVERLAP_HOURS = 24 * 30



def shown_moment(moment) -> str:
    """A moment as the rest of the admin shows it: local time, the active language's format."""
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT") if moment else "—"

class ApiClientForm(ChangeReasonForm):
    scopes = forms.MultipleChoiceField(
        label=_("scopes"), choices=Scope.choices, widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Tick at least one scope: a client without one can call nothing.")})

    class Meta:
        model = ApiClient
        fields = ("name", "system", "scopes", "rate_limit", "note")

    def clean_scopes(self):
        return services.parse_scopes(",".join(self.cleaned_data["scopes"]))


class RotateForm(forms.Form):
    overlap_hours = forms.IntegerField(
        label=_("Overlap (hours)"), initial=24, min_value=0, max_value=MAX_OVERLAP_HOURS,
        help_text=_("How long the current tokens keep working beside the new one, while the system switches."))


class RevokeForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2, "cols": 80}),
                             help_text=_("Kept in the history of the client and of each token it ends."))


class ApiTokenInline(admin.TabularInline):
    """A client's tokens: what tells them apart and whether they still work; never the token."""

    model = ApiToken
    extra = 0
    can_delete = False
    fields = ("prefix", "created_at", "ends_at", "last_used", "last_address")
    readonly_fields = fields
    verbose_name_plural = _("tokens")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("use")

    @admin.display(description=_("last used"))
    def last_used(self, token):
        use = getattr(token, "use", None)
        return shown_moment(use.last_used_at if use else None)

    @admin.display(description=_("last address"))
    def last_address(self, token):
        use = getattr(token, "use", None)
        return (use.last_ip or "—") if use else "—"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ApiClient)
class ApiClientAdmin(AuditedAdmin):
    form = ApiClientForm
    list_display = ("name", "system", "scope_list", "rate_limit", "active", "last_used", "created_at")
    list_filter = ("system",)
    search_fields = ("name",)
    actions = ("rotate_token", "revoke")
    inlines = (ApiTokenInline,)
    readonly_fields = ("created_at", "revoked_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("system").annotate(
            last_used_at=Max("tokens__use__last_used_at"))

    @admin.display(description=_("scopes"))
    def scope_list(self, client):
        return ", ".join(client.scopes) or "—"

    @admin.display(description=_("active"), boolean=True)
    def active(self, client):
        return client.is_active

    @admin.display(description=_("last used"), ordering="last_used_at")
    def last_used(self, client):
        return shown_moment(client.last_used_at)

    def get_readonly_fields(self, request, obj=None):
        # The name is what history calls the client (api:<name>) and the system decides which requests
        # it reads back: both stay as created.
        return self.readonly_fields + (("name", "system") if obj else ())

    def get_inlines(self, request, obj):
        return self.inlines if obj else ()

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or obj.is_active)

    def has_delete_permission(self, request, obj=None):
        return False  # a client is evidence of who wrote what: revoked, never deleted

    def save_model(self, request, obj, form, change):
        if change:
            if form.has_data_changes():
                record_save(instance=obj, actor=request.user, event=AuditEvent.API_CLIENT_CHANGED,
                            reason=self.reason(form))
            return
        data = form.cleaned_data
        issued = services.api_client_create(name=data["name"], system=data["system"], scopes=data["scopes"],
                                            rate_limit=data["rate_limit"], note=data["note"], actor=request.user)
        obj.pk = issued.token.client_id
        obj.refresh_from_db()
        request._issued_api_tokens = [(obj, issued.secret)]

    def response_add(self, request, obj, post_url_continue=None):
        issued = getattr(request, "_issued_api_tokens", None)
        if not issued:
            return super().response_add(request, obj, post_url_continue)
        return self.token_page(request, issued, _("API client created"))

    def token_page(self, request, issued, title):
        response = admin_page(self, request, ISSUED_PAGE, title, issued=issued)
        response["Cache-Control"] = "no-store"
        return response

    def _action_page(self, request, queryset, form, title, action, button):
        return admin_page(self, request, ACTION_TEMPLATE, title, form=form, clients=queryset, action=action,
                          button=button, selected=request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME))

    @admin.action(description=_("Rotate token"), permissions=["change"])
    def rotate_token(self, request, queryset):
        form = RotateForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return self._action_page(request, queryset, form, _("Rotate the token"), "rotate_token",
                                     _("Issue new tokens"))
        overlap = timedelta(hours=form.cleaned_data["overlap_hours"])
        issued = []
        for client in queryset:
            try:
                issued.append((client, services.api_token_rotate(client=client, overlap=overlap,
                                                                 actor=request.user).secret))
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
        if not issued:
            return None
        until = f"{timezone.localtime(timezone.now() + overlap):%d.%m.%Y %H:%M}"
        self.message_user(request, ngettext(
            "%(count)d token issued; the old tokens work until %(until)s.",
            "%(count)d tokens issued; the old tokens work until %(until)s.", len(issued)) % {
            "count": len(issued), "until": until}, messages.SUCCESS)
        return self.token_page(request, issued, _("New tokens"))

    @admin.action(description=_("Revoke"), permissions=["change"])
    def revoke(self, request, queryset):
        form = RevokeForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return self._action_page(request, queryset, form, _("Revoke API clients"), "revoke",
                                     _("Revoke: every token stops now"))
        done = 0
        for client in queryset:
            try:
                services.api_client_revoke(client=client, actor=request.user, reason=form.cleaned_data["reason"])
                done += 1
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
        if done:
            self.message_user(request, ngettext("%(count)d client revoked; its tokens no longer work.",
                                                "%(count)d clients revoked; their tokens no longer work.", done) % {
                "count": done}, messages.SUCCESS)
        return None


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyHistoryAdmin):
    """Tokens, read only: issued and ended by the client's create, rotate and revoke steps; their history
    says who did each."""

    list_display = ("client", "prefix", "created_at", "ends_at", "valid")
    list_filter = ("client",)
    list_select_related = ("client",)
    fields = ("client", "prefix", "created_at", "ends_at")

    @admin.display(description=_("valid"), boolean=True)
    def valid(self, token):
        return token.is_valid()


# Systems of record: integrations (webhook + signing secret), their tasks, the outbox.

SECRET_PAGE = "admin/integrations/systemintegration/secret.html"  # noqa: S105 (a template path)


class SystemIntegrationForm(ChangeReasonForm):
    webhook_url = forms.URLField(label=_("webhook URL"), max_length=500, assume_scheme="https",
                                 help_text=SystemIntegration._meta.get_field("webhook_url").help_text)
    kinds = forms.MultipleChoiceField(
        label=_("request kinds it handles"), widget=forms.CheckboxSelectMultiple, required=False,
        choices=[(kind, SubjectRequest.Kind(kind).label) for kind in HANDLED_KINDS],
        help_text=_("Requests of these kinds are sent to the system; the others stay manual tasks for its owner."))

    class Meta:
        model = SystemIntegration
        fields = ("system", "webhook_url", "kinds", "timeout_seconds", "active")


@admin.register(SystemIntegration)
class SystemIntegrationAdmin(AuditedAdmin):
    """The compliance team connects a catalogue system; its signing secret is shown once, on the page
    that answers the POST that made it (as API tokens are), and never again."""

    form = SystemIntegrationForm
    list_display = ("system", "webhook_url", "kind_list", "timeout_seconds", "active", "created_at")
    list_filter = ("active",)
    list_select_related = ("system",)
    readonly_fields = ("created_at",)

    @admin.display(description=_("request kinds it handles"))
    def kind_list(self, integration):
        return ", ".join(str(SubjectRequest.Kind(kind).label) for kind in integration.kinds) or "—"

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields + (("system",) if obj else ())

    def has_delete_permission(self, request, obj=None):
        return False  # its messages and tasks point to it: made inactive, never deleted

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        created = services.integration_create(
            system=data["system"], webhook_url=data["webhook_url"], kinds=data["kinds"], actor=request.user,
            timeout_seconds=data["timeout_seconds"], active=data["active"])
        obj.pk = created.pk
        obj.refresh_from_db()
        request._issued_signing_secret = (obj, created.signing_secret)

    def response_add(self, request, obj, post_url_continue=None):
        issued = getattr(request, "_issued_signing_secret", None)
        if not issued:
            return super().response_add(request, obj, post_url_continue)
        response = admin_page(self, request, SECRET_PAGE, _("Integration created"), issued=[issued])
        response["Cache-Control"] = "no-store"
        return response


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ("at", "status_code", "error", "duration_ms")
    readonly_fields = fields
    verbose_name_plural = _("every attempt")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Messages waiting, delivered or dead, with every attempt and its error; "retry now" makes one due."""

    list_display = ("id", "kind", "system", "request_number", "status", "attempts", "next_attempt_at", "last_error")
    list_filter = ("status", "kind")
    fields = ("task", "integration", "kind", "payload", "idempotency_key", "status", "attempts", "next_attempt_at",
              "created_at", "delivered_at", "last_error")
    readonly_fields = fields
    inlines = (DeliveryAttemptInline,)
    actions = ("retry_now",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("integration__system", "task")

    @admin.display(description=_("system"), ordering="integration__system__name")
    def system(self, message):
        return message.integration.system

    @admin.display(description=_("request"))
    def request_number(self, message):
        return f"DSR #{message.task.request_id}"

    def has_retry_permission(self, request):
        return request.user.has_perm("integrations.change_outboxmessage")

    @admin.action(description=_("Retry now"), permissions=["retry"])
    def retry_now(self, request, queryset):
        done = 0
        for message in queryset:
            try:
                services.outbox_retry(message=message, actor=request.user)
                done += 1
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
        if done:
            self.message_user(request, ngettext("%(count)d message is due now; the worker sends it next.",
                                                "%(count)d messages are due now; the worker sends them next.",
                                                done) % {"count": done}, messages.SUCCESS)


@admin.register(SystemTask)
class SystemTaskAdmin(ReadOnlyHistoryAdmin):
    """Tasks sent to integrated systems and their answers, read only: the systems answer through the API."""

    list_display = ("request_number", "system", "kind", "status", "created_at", "answered_at", "answered_by")
    list_filter = ("status", "kind", "system")
    list_select_related = ("system",)
    fields = ("request", "system", "kind", "status", "created_at", "answered_at", "answered_by", "answer",
              "refusal_reason")

    @admin.display(description=_("request"), ordering="request_id")
    def request_number(self, task):
        return f"DSR #{task.request_id}"
