import difflib

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, Subquery
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import translation
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from shipex_privacy.audit.access import access_record
from shipex_privacy.audit.admin import AuditedAdmin, HistoryAdmin, ReadOnlyHistoryAdmin
from shipex_privacy.audit.models import AccessEvent
from shipex_privacy.catalogue.masking import MaskedFieldsMixin, mask_value
from shipex_privacy.catalogue.models import PersonalDataField
from shipex_privacy.core.admin import ReadOnlyAdmin, admin_page
from shipex_privacy.core.i18n import shown_column
from shipex_privacy.core.steps import StepAdminMixin
from shipex_privacy.subjects.models import DataSubject

from . import reports, services
from .forms import CompareVersionsForm, ConsentImportForm, GrantConsentForm, WithdrawConsentForm
from .models import (
    CONSENT_CONTENTS_SOURCE,
    Consent,
    ConsentEvent,
    Cookie,
    CookieConsentEvent,
    Counter,
    PolicyAcceptance,
    PolicyVersion,
    SubjectWithoutCurrentPolicy,
    term_last_day,
)

# Each language by its own name, as a subject looks for it.
NATIVE_NAMES = {"uz": "Oʻzbekcha", "ru": "Русский", "en": "English"}


@admin.register(PolicyVersion)
class PolicyVersionAdmin(StepAdminMixin, AuditedAdmin):
    list_display = ("version", "effective_date", "is_published", "published_at", "short_hash")
    readonly_fields = ("content_hash", "published_at")
    fields = ("version", "effective_date", "text_uz", "text_ru", "text_en", "content_hash", "published_at")
    change_form_template = "admin/consents/policyversion/change_form.html"

    @admin.display(description=_("published"), boolean=True)
    def is_published(self, version):
        return version.is_published

    @admin.display(description=_("SHA-256 of the texts"))
    def short_hash(self, version):
        return version.content_hash[:12]

    def has_change_permission(self, request, obj=None):
        # A published version is frozen (the database refuses changes too): view only.
        return super().has_change_permission(request, obj) and not (obj and obj.is_published)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (obj and obj.is_published)

    def get_urls(self):
        return [
            *self.step_urls(("<int:pk>/publish/", self.publish_view, "consents_policyversion_publish")),
            path("<int:pk>/compare/", self.admin_site.admin_view(self.compare_view),
                 name="consents_policyversion_compare"),
            *super().get_urls(),
        ]

    def publish_view(self, request, pk):
        # Publishing is the last change of a draft version: the model's change permission, which
        # has_change_permission (false once published) would not give on a published version's page.
        version = self.step_object(request, pk, "consents.change_policyversion")
        return self.step(
            request, pk, obj=version, permission="consents.change_policyversion",
            title=_("Publish version %(version)s") % {"version": version.version},
            submit_label=_("Publish"), submit_name="publish", refused_url=self.step_back_url(version),
            summary=_("Version %(version)s will be in force from %(date)s. Once published, its texts can never be "
                      "changed: not in the admin, not in the database. A correction is a new version.") % {
                "version": version.version, "date": f"{version.effective_date:%d.%m.%Y}"},
            facts=[(_("SHA-256 of the texts:"), version.content_hash)],
            done=_("Version %(version)s is published and can no longer be changed.") % {"version": version.version},
            run=lambda version, data: services.policy_publish(version=version, actor=request.user))

    def compare_view(self, request, pk):
        version = get_object_or_404(PolicyVersion, pk=pk)
        if not self.has_view_permission(request, version):
            raise PermissionDenied
        form = CompareVersionsForm(request.GET or None)
        form.fields["other"].queryset = PolicyVersion.objects.exclude(pk=pk)
        diffs = []
        if form.is_valid():
            other = form.cleaned_data["other"]
            older, newer = sorted((version, other), key=lambda v: (v.effective_date, v.pk))
            for language, label in (("uz", "Oʻzbekcha"), ("ru", "Русский"), ("en", "English")):
                lines = difflib.ndiff(getattr(older, f"text_{language}").splitlines(),
                                      getattr(newer, f"text_{language}").splitlines())
                rows = [(line[0], line[2:]) for line in lines if line[0] in " +-"]
                diffs.append({"language": label, "rows": rows,
                              "changed": any(mark != " " for mark, _text in rows)})
            return admin_page(self, request, "admin/consents/policyversion/compare.html",
                              _("Changes from %(old)s to %(new)s") % {"old": older.version, "new": newer.version},
                              form=form, version=version, older=older, newer=newer, diffs=diffs)
        return admin_page(self, request, "admin/consents/policyversion/compare.html",
                          _("Compare version %(version)s") % {"version": version.version}, form=form, version=version)


@admin.register(PolicyAcceptance)
class PolicyAcceptanceAdmin(MaskedFieldsMixin, ReadOnlyHistoryAdmin):
    list_display = ("subject", "version", "accepted_at", "channel")
    list_filter = ("version", "channel")
    list_select_related = ("subject", "version")
    show_full_result_count = False


@admin.register(SubjectWithoutCurrentPolicy)
class SubjectWithoutCurrentPolicyAdmin(MaskedFieldsMixin, ReadOnlyAdmin):
    """A question about subjects, read by every role: identifiers masked as on the subject page, whose
    link the page gives for anything more (revealing a value, the subject's history)."""

    list_display = ("account_id", "full_name", "phone_masked", "registered_at", "last_accepted")
    fields = ("subject_page", *DataSubject.PERSONAL_DATA_FIELDS, "status", "last_accepted")
    readonly_fields = ("subject_page", "last_accepted")
    show_full_result_count = False
    access_detail = "subject without the current policy"

    def subject_id_of(self, subject):
        return subject.pk

    @admin.display(description=_("data subject"))
    def subject_page(self, subject):
        return format_html('<a href="{}">{}</a>', reverse("admin:subjects_datasubject_change", args=[subject.pk]),
                           _("Open the subject page"))

    def changelist_view(self, request, extra_context=None):
        current = PolicyVersion.objects.in_force()
        extra_context = {**(extra_context or {}), "title": _("Subjects who have not accepted version %(version)s")
                         % {"version": current.version} if current else _("No policy version is in force")}
        return super().changelist_view(request, extra_context)

    def get_queryset(self, request):
        current = PolicyVersion.objects.in_force()
        if current is None:
            return super().get_queryset(request).none()
        latest = PolicyAcceptance.objects.filter(subject=OuterRef("pk")).order_by("-accepted_at", "-id")
        return (
            super().get_queryset(request)
            .exclude(status__in=[DataSubject.Status.CLOSED, DataSubject.Status.ANONYMISED])
            .exclude(policy_acceptances__version=current)
            .annotate(last_version=Subquery(latest.values("version__version")[:1]))
        )

    @admin.display(description=_("phone"))
    def phone_masked(self, subject):
        return mask_value(DataSubject, "phone", subject.phone)

    @admin.display(description=_("last accepted version"))
    def last_accepted(self, subject):
        return subject.last_version or "—"


class ConsentEventInline(admin.TabularInline):
    model = ConsentEvent
    extra = 0
    can_delete = False
    fields = ("kind", "occurred_at", "channel", "policy_version", "expires_at", "recorded_by_username", "receipt")
    readonly_fields = fields
    ordering = ("-occurred_at", "-id")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("receipt"))
    def receipt(self, event):
        url = reverse("admin:consents_consentevent_receipt", args=[event.pk])
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, _("receipt"))


@admin.register(Consent)
class ConsentAdmin(StepAdminMixin, MaskedFieldsMixin, HistoryAdmin):
    step_refusals_in_form = True
    list_display = (
        "subject", "purpose_clause", "recipient_kind", "state", "in_force", "channel", "granted_at", "expires_at",
        "withdrawn_at",
    )
    list_filter = ("purpose", "state", "channel", "recipient_kind", "granted_at")
    list_select_related = ("subject", "purpose")
    search_fields = ("subject__account_id",)  # the search itself is our own; this turns the box on
    search_help_text = _("Subject's phone, e-mail, account id or PINFL — exact match.")
    show_full_result_count = False
    inlines = [ConsentEventInline]
    readonly_fields = ("subject", "purpose", "recipient_kind", "state", "channel", "granted_at", "expires_at",
                       "withdrawn_at")
    change_list_template = "admin/consents/consent/change_list.html"
    change_form_template = "admin/consents/consent/change_form.html"

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset.filter(subject__in=DataSubject.objects.search(search_term)), False

    @admin.display(description=_("purpose"), ordering="purpose__clause")
    def purpose_clause(self, consent):
        return consent.purpose.clause

    @admin.display(description=_("in force"), boolean=True)
    def in_force(self, consent):
        return consent.is_in_force()

    def has_change_permission(self, request, obj=None):
        return False  # consents change only through grant and withdrawal events

    def has_delete_permission(self, request, obj=None):
        return False

    def can_record(self, request) -> bool:
        return request.user.has_perm("consents.add_consent") and request.user.has_perm("consents.change_consent")

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("grant/", view(self.grant_view), name="consents_consent_grant"),
            *self.step_urls(("<int:pk>/withdraw/", self.withdraw_view, "consents_consent_withdraw")),
            path("import/", view(self.import_view), name="consents_consent_import"),
            path("report/", view(self.report_view), name="consents_consent_report"),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        return redirect("admin:consents_consent_grant")

    def grant_view(self, request):
        if not self.can_record(request):
            raise PermissionDenied
        form = GrantConsentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            subject = DataSubject.objects.with_account_id(data["account_id"]).first()  # typed any way
            if subject is None:
                form.add_error("account_id", _("No subject with this account id."))
            else:
                try:
                    event = services.consent_grant(
                        subject=subject, purpose=data["purpose"], occurred_at=data["occurred_at"],
                        evidence=services.Evidence(channel=data["channel"], reference=data["evidence_reference"]),
                        policy_version=data["policy_version"], actor=request.user,
                        recipient_kind=data["recipient_kind"], expires_at=data["term_end"],
                        document=services.ConsentDocument(
                            covered_data=data["covered_data"],
                            allows_third_party_transfer=data["allows_third_party_transfer"],
                            allows_cross_border_transfer=data["allows_cross_border_transfer"],
                            allows_publication=data["allows_publication"],
                        ),
                    )
                except ValidationError as error:
                    form.add_error(None, error)
                else:
                    self.message_user(request, _("Consent recorded."), messages.SUCCESS)
                    return redirect("admin:consents_consent_change", event.consent_id)
        return admin_page(self, request, "admin/consents/consent/grant.html", _("Record a consent"), form=form,
                          contents_source=CONSENT_CONTENTS_SOURCE)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Staff see where the required contents of a consent come from (a seeded reference, marked).
        extra_context = {**(extra_context or {}), "contents_source": CONSENT_CONTENTS_SOURCE}
        return super().change_view(request, object_id, form_url, extra_context)

    def withdraw_view(self, request, pk):
        # The ledger is never "changed" in a form: withdrawing is a new event, under its own permission.
        consent = self.step_object(request, pk, "consents.change_consent")
        back = request.GET.get("next", "")
        if not url_has_allowed_host_and_scheme(back, {request.get_host()}, require_https=request.is_secure()):
            back = reverse("admin:consents_consent_change", args=[pk])  # never send staff to another site

        def run(consent, data):
            return services.consent_withdraw(
                consent=consent, occurred_at=data["occurred_at"], actor=request.user, note=data["note"],
                evidence=services.Evidence(channel=data["channel"], reference=data["evidence_reference"],
                                           ip_address=None),
            )

        return self.step(
            request, pk, obj=consent, permission="consents.change_consent", form_class=WithdrawConsentForm,
            title=_("Withdraw consent to %(clause)s") % {"clause": consent.purpose.clause},
            submit_label=_("Confirm withdrawal"), back=back, run=run,
            summary=_("%(subject)s withdraws consent to %(purpose)s. Processing on this consent stops from the "
                      "moment below; the grant stays in the record.") % {
                "subject": consent.subject, "purpose": consent.purpose},
            done=_("Withdrawal of consent to %(clause)s recorded.") % {"clause": consent.purpose.clause})

    def import_view(self, request):
        if not self.can_record(request):
            raise PermissionDenied
        form = ConsentImportForm(request.POST or None, request.FILES or None)
        report = None
        if request.method == "POST" and form.is_valid():
            report = services.consent_import(lines=form.cleaned_data["file"], actor=request.user)
            if report.recorded:
                self.message_user(request, _("%(granted)s grants and %(withdrawn)s withdrawals recorded.")
                                  % {"granted": report.granted, "withdrawn": report.withdrawn}, messages.SUCCESS)
        return admin_page(self, request, "admin/consents/consent/import.html", _("Import consents"),
                          form=form, report=report, columns=services.IMPORT_COLUMNS)

    def report_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        series = [
            {"purpose": purpose, "points": points, "chart": reports.svg_points(points)}
            for purpose, points in reports.consent_rates()
        ]
        return admin_page(self, request, "admin/consents/consent/report.html", _("Consent rate per purpose"),
                          series=series)


@admin.register(ConsentEvent)
class ConsentEventAdmin(MaskedFieldsMixin, ReadOnlyAdmin):
    list_display = ("consent", "kind", "occurred_at", "channel", "policy_version", "recorded_by_username")
    list_filter = ("kind", "channel", "occurred_at")
    list_select_related = ("consent__subject", "consent__purpose", "policy_version")
    show_full_result_count = False

    def subject_id_of(self, event):
        return event.consent.subject_id

    def get_urls(self):
        return [
            path("<int:pk>/receipt/", self.admin_site.admin_view(self.receipt_view),
                 name="consents_consentevent_receipt"),
            *super().get_urls(),
        ]

    def receipt_view(self, request, pk):
        event = get_object_or_404(
            ConsentEvent.objects.select_related("consent__subject", "consent__purpose", "policy_version"), pk=pk
        )
        if not self.has_view_permission(request, event):
            raise PermissionDenied
        subject = event.consent.subject
        # A receipt shows the subject's name and what they agreed to: a read the access log keeps.
        access_record(request=request, action=AccessEvent.Action.SUBJECT_VIEW, obj=event, subject_id=subject.pk,
                      detail="consent receipt")
        languages = [code for code, _name in settings.LANGUAGES]
        # In the subject's language, or another one the subject asks for (?language=uz|ru|en).
        language = request.GET.get("language", "")
        language = language if language in languages else subject.preferred_language
        with translation.override(language):
            entries = {entry.code: entry for entry in PersonalDataField.objects.filter(code__in=event.covered_data)}
            # In the order the document listed them; a code no longer in the catalogue is shown as it is.
            covered = [(code, entries[code].name if code in entries else code) for code in event.covered_data]
            return TemplateResponse(request, "admin/consents/receipt.html", {
                "event": event, "consent": event.consent, "subject": subject, "covered": covered,
                "purpose_name": event.consent.purpose.name, "language": language,
                "lapse_last_day": term_last_day(event.occurred_at) if event.kind == ConsentEvent.Kind.LAPSE else None,
                "languages": [(code, NATIVE_NAMES.get(code, code)) for code in languages if code != language],
            }).render()


@admin.register(Cookie)
class CookieAdmin(AuditedAdmin):
    list_display = ("name", "domain", "provider", "party", "category", "duration_days",
                    shown_column(Cookie, "required_by"))
    list_filter = ("category", "party")
    search_fields = ("name", "domain", "provider")
    filter_horizontal = ("purposes",)


@admin.register(Counter)
class CounterAdmin(AuditedAdmin):
    list_display = ("name", "counter_id", "provider", shown_column(Counter, "placement"), "processing_country",
                    "active")
    list_filter = ("active", "provider")
    filter_horizontal = ("purposes", "cookies")
    fieldsets = (
        (None, {"fields": ("name", "provider", "counter_id", "placement", "placement_uz", "placement_ru",
                           "processing_country", "active")}),
        (_("Technical parameters (1.6.4)"), {"fields": (
            "collects_ip_address", "anonymises_ip", "session_replay", "tracks_clicks", "ecommerce_tracking",
            "user_id_tracking", "cross_domain", "data_retention_months",
        )}),
        (_("Purposes and cookies"), {"fields": ("purposes", "cookies")}),
        (_("Description"), {"fields": ("description_uz", "description_ru", "description_en")}),
    )


@admin.register(CookieConsentEvent)
class CookieConsentEventAdmin(MaskedFieldsMixin, ReadOnlyAdmin):
    list_display = ("subject", "masked_visitor_id", "category", "kind", "occurred_at", "channel")
    list_filter = ("category", "kind", "channel")
    list_select_related = ("subject",)
    show_full_result_count = False
