"""Admin pieces every tracked model shares: a stated reason for each change, history that is
read, never reverted or deleted, and saves that leave no empty history rows; and the read-only
access log."""

import functools
import io
from datetime import date, datetime, time

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import SEARCH_VAR
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db.models import Q
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from shipex_privacy.catalogue.masking import is_masked, mask_value
from shipex_privacy.core.admin import QuickRowsMixin, ReadOnlyAdmin, ReadOnlyAdminMixin
from shipex_privacy.core.exports import CSV_BOM, csv_writer
from shipex_privacy.core.masking import mask_text
from shipex_privacy.core.paginator import CappedCountPaginator, EstimatedCountPaginator

from . import trail
from .access import access_record
from .models import AccessEvent, TrailEntry
from .services import record_delete, record_save
from .versions import VersionPart, format_version, parse_version

# A page's version: for its record and each inline model, the newest history row it was built
# from ("subjects.datasubject:41;subjects.address:97"). History ids only grow, so a newer row in any
# of them means somebody saved in between; no version column is needed.
VERSION_FIELD = "page_version"
CHANGES_LISTED = 5


def accepts_edits(obj) -> bool:
    """Whether a record may be edited in the admin: the records of an erased subject may not."""
    check = getattr(obj, "accepts_edits", None)
    return check is None or check()


class ChangeReasonForm(forms.ModelForm):
    # The version of the page the change was made on (see VERSION_FIELD); AuditedAdmin fills it in.
    page_version = forms.CharField(widget=forms.HiddenInput, required=False)
    # Set by AuditedAdmin.get_form: the history this page shows, as a list of VersionPart.
    version_parts = None

    change_reason = forms.CharField(
        label=_("Reason for this change"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 80}),
        help_text=_("Kept in the history. Example: “DSR #42: subject asked to correct the address”."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.version_parts and self.instance.pk and not self.is_bound:
            self.initial[VERSION_FIELD] = getattr(self.instance, "_page_version", None) or format_version(
                self.version_parts(self.instance))

    def has_data_changes(self) -> bool:
        """Whether a field of the record changed (the reason and other helper fields do not count)."""
        model_fields = {field.name for field in self._meta.model._meta.get_fields()}
        return any(name in model_fields for name in self.changed_data)

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and not cleaned.get("change_reason", "").strip():
            self.add_error(
                "change_reason", _("Say why you are changing this record; the reason is kept in its history.")
            )
        if self.instance.pk and self.version_parts:
            self.check_version(cleaned.get(VERSION_FIELD, ""))
        return cleaned

    def check_version(self, text: str) -> None:
        """Refuse the save when anything on the page was saved since the page was built.

        The record's row is locked first (the admin's save runs in one transaction), so two saves
        built from the same page never both pass. Every page this admin renders carries a version:
        a POST without one did not come from a page as shown, and is refused like a stale one.
        """
        model = type(self.instance)
        list(model._default_manager.select_for_update().filter(pk=self.instance.pk).values_list("pk"))
        base = parse_version(text) if text else None
        if base is None:
            self.add_error(None, _("This page's version could not be read. Reload the page and make the "
                                   "change again; nothing was saved."))
            return
        newer = []
        for part in self.version_parts(self.instance):
            newer.extend(part.rows().filter(history_id__gt=base.get(part.key, 0)).order_by("-history_id")
                         [:CHANGES_LISTED])
        if not newer:
            return
        newer.sort(key=lambda row: row.history_date, reverse=True)
        changes = "; ".join(
            _("%(record)s %(action)s by %(who)s on %(when)s (“%(reason)s”)") % {
                "record": capfirst(row.instance_type._meta.verbose_name),
                "action": {"+": _("added"), "-": _("deleted")}.get(row.history_type, _("changed")),
                "who": row.history_username or _("the system"),
                "when": f"{timezone.localtime(row.history_date):%d.%m.%Y %H:%M}",
                "reason": row.history_change_reason or "—",
            } for row in newer[:CHANGES_LISTED])
        self.add_error(None, _("Somebody saved this record after you opened the page, so your changes were "
                               "not saved: %(changes)s. Reload the page to see the record as it is now, then "
                               "make your change again.") % {"changes": changes})


class HistoryAdmin(QuickRowsMixin, SimpleHistoryAdmin):
    """The one base for every admin of a model with history: its history pages are read, never posted.

    History is evidence and never reverted (SIMPLE_HISTORY_REVERT_DISABLED), but simple-history's
    page of one old version would still save a POSTed form without checking the change permission.
    The ``audit.E001`` check refuses an admin of a tracked model that does not extend this class.
    """

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_historical_record_context_helper(self, request, historical_record):
        """The history's diffs, with the catalogue's masked values masked for staff who may not change
        this kind of record: one rule (catalogue.masking) for the history of every tracked model."""
        if self.has_change_permission(request):
            return super().get_historical_record_context_helper(request, historical_record)
        from shipex_privacy.catalogue.masking import masking_history_helper

        return masking_history_helper(self.model, historical_record)


class ReadOnlyHistoryAdmin(ReadOnlyAdminMixin, HistoryAdmin):
    """For tracked records written only by services: their pages and their history are read only."""


class AuditedAdmin(HistoryAdmin):
    """Base admin for models with history: every change carries who, from where, and why."""

    form = ChangeReasonForm
    change_form_template = "admin/audited_change_form.html"
    history_list_per_page = 50
    default_reason = _("Created in the back office")
    reason_fieldset_title = _("Why")

    def get_fieldsets(self, request, obj=None):
        helpers = ("change_reason", VERSION_FIELD)
        fieldsets = [
            (name, {**options, "fields": [f for f in options["fields"] if f not in helpers]})
            for name, options in super().get_fieldsets(request, obj)
        ]
        if self.can_write(request, obj):
            fieldsets.append(self.reason_fieldset())
        return fieldsets

    def can_write(self, request, obj=None) -> bool:
        return self.has_change_permission(request, obj) if obj else self.has_add_permission(request)

    def reason_fieldset(self):
        return (self.reason_fieldset_title, {"fields": ["change_reason", VERSION_FIELD], "classes": ["change-reason"]})

    # Optimistic concurrency: the page carries the version it was built from (ChangeReasonForm).

    def version_parts(self, request, obj) -> list[VersionPart]:
        """The record's own history and that of every inline's rows of it (a subject's addresses)."""
        parts = [VersionPart(type(obj), {obj._meta.pk.attname: obj.pk})]
        for inline in self.get_inline_instances(request, obj):
            if not hasattr(inline.model, "history"):
                continue
            key = inline.get_formset(request, obj).fk
            parts.append(VersionPart(inline.model, {key.attname: obj.pk}))
        return parts

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        match = request.resolver_match
        if obj is None or request.method != "GET" or not match or not match.url_name.endswith("_change"):
            return obj
        # The version is read before the record that the page shows (and its inline rows, read later
        # still): a save committed in between makes the page older than its data, never the reverse.
        version = format_version(self.version_parts(request, obj))
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            obj._page_version = version
        return obj

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if not issubclass(form, ChangeReasonForm):
            return form
        parts = staticmethod(functools.partial(self.version_parts, request))
        return type(form.__name__, (form,), {"version_parts": parts, "__module__": form.__module__})

    # The records of an erased or anonymised subject are read only (their model's accepts_edits()).

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or accepts_edits(obj))

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or accepts_edits(obj))

    def get_inline_instances(self, request, obj=None):
        instances = super().get_inline_instances(request, obj)
        if obj is not None and not accepts_edits(obj):
            for inline in instances:  # fresh instances for this request: their rows are read only too
                inline.has_add_permission = inline.has_change_permission = inline.has_delete_permission = \
                    lambda request, obj=None: False
        return instances

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and object_id is not None:
            obj = self.get_object(request, unquote(object_id))
            if obj is not None and not accepts_edits(obj) and self.has_view_permission(request, obj):
                self.message_user(request, _("The data of this record was erased or anonymised; it changes only "
                                             "through an erasure or a correction request. Nothing was saved."),
                                  messages.ERROR)
                return HttpResponseRedirect(request.get_full_path())
        return super().changeform_view(request, object_id, form_url, extra_context)

    def reason(self, form) -> str:
        return form.cleaned_data.get("change_reason", "").strip() or str(self.default_reason)

    def save_model(self, request, obj, form, change):
        if change and not form.has_data_changes():
            return  # nothing changed: no history row
        record_save(instance=obj, actor=request.user, reason=self.reason(form))

    def save_formset(self, request, form, formset, change):
        reason = self.reason(form)
        for instance in formset.save(commit=False):
            record_save(instance=instance, actor=request.user, reason=reason)
        for instance in formset.deleted_objects:
            record_delete(instance=instance, actor=request.user, reason=reason)
        formset.save_m2m()

    def delete_model(self, request, obj):
        record_delete(instance=obj, actor=request.user, reason=str(_("Deleted in the back office")))

    def delete_queryset(self, request, queryset):
        for obj in queryset:  # one history row each, never a bulk delete
            self.delete_model(request, obj)



def subject_label(subjects, account_id: str, name: str) -> str:
    """``SX-1042 · D***``: the account id as readers see it, the name always masked."""
    name = mask_value(subjects, "full_name", name) if is_masked(subjects, "full_name") else mask_text(name)
    return " · ".join(part for part in (mask_value(subjects, "account_id", account_id), name) if part)


class SubjectNamesMixin:
    """Audit lists name each subject by account id and name, never by database id alone.

    Every audit page is read-only, so the account id shows as staff who only read see it (masked
    where the catalogue masks it), and the name always masked: the log's pages name a subject
    without showing their data in full. One query per page, whatever its length.
    """

    def get_changelist(self, request, **kwargs):
        class WithSubjectNames(super().get_changelist(request, **kwargs)):
            def get_results(self, request):
                super().get_results(request)
                self.result_list = rows = list(self.result_list)
                subjects = apps.get_model("subjects", "DataSubject")
                ids = {row.subject_id for row in rows if row.subject_id is not None}
                found = subjects.objects.filter(pk__in=ids).values_list("pk", "account_id", "full_name") if ids else []
                labels = {pk: subject_label(subjects, account_id, name) for pk, account_id, name in found}
                for row in rows:
                    row.subject_label = labels.get(row.subject_id, "")

        return WithSubjectNames

    @admin.display(description=_("data subject"), ordering="subject_id")
    def subject(self, row):
        if row.subject_id is None:
            return "—"
        return format_html('<a href="?subject_id={}">{}</a>', row.subject_id,
                           getattr(row, "subject_label", "") or f"#{row.subject_id}")


@admin.register(AccessEvent)
class AccessEventAdmin(SubjectNamesMixin, ReadOnlyAdmin):
    """The access log, read-only for everybody: nobody adds, changes or deletes a read.

    Filter by ``?subject_id=`` or ``?user_id=`` (the columns link to both): each is an indexed
    lookup. The log keeps no personal data of the subject itself, only ids and the hashed term.
    """

    # No list filter: counting one action over hundreds of millions of rows is what the design
    # forbids on a page view. Filters by subject or staff member (indexed) come through the links.
    list_display = ("at", "who", "action", "what", "subject", "field_names", "reason", "ip")
    ordering = ("-id",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 100
    fields = (
        "at", "user_id", "username", "action", "object_type", "object_id", "subject_id", "field", "reason",
        "search_term_hash", "detail", "ip", "user_agent",
    )
    readonly_fields = fields

    @admin.display(description=_("staff member"), ordering="user_id")
    def who(self, event):
        if event.user_id is None:
            return event.username or "—"
        return format_html('<a href="?user_id={}">{}</a>', event.user_id, event.username)

    @admin.display(description=_("object"))
    def what(self, event):
        if not event.object_type:
            return "—"
        model = logged_model(event.object_type)
        return f"{capfirst(model._meta.verbose_name) if model else event.object_type} #{event.object_id}"

    @admin.display(description=AccessEvent._meta.get_field("field").verbose_name, ordering="field")
    def field_names(self, event):
        """The logged field names as the reader's language calls them (the log keeps the stable names)."""
        if not event.field:
            return "—"
        if event.field == TRAIL_DIFF_FIELD:
            return _("audit trail diff")
        model = logged_model(event.object_type)
        names = []
        for name in event.field.split(", "):
            try:
                names.append(str(model._meta.get_field(name).verbose_name) if model else name)
            except FieldDoesNotExist:
                names.append(name)
        return ", ".join(names)



REVEAL_PERMISSION = "subjects.reveal_identifiers"
TRAIL_DIFF_FIELD = "audit trail diff"  # stored as written; shown translated


def logged_model(label: str):
    """The model an access-log row names (``app_label.model``), or None for one that no longer exists."""
    try:
        return apps.get_model(label) if label else None
    except (LookupError, ValueError):
        return None


class RevealReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you need to see the values in full?"), max_length=500,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 80}),
        help_text=_("Kept in the access log with your name."),
    )


class RecordTypeFilter(admin.SimpleListFilter):
    """Filter the trail by record type; the choices come from the code, never from a DISTINCT scan."""

    title = _("record type")
    parameter_name = "model"

    def lookups(self, request, model_admin):
        tracked = sorted(
            (model.instance_type for model in trail.audited_history_models()),
            key=lambda model: str(model._meta.verbose_name_plural),
        )
        return [(model._meta.label_lower, capfirst(model._meta.verbose_name_plural)) for model in tracked]

    def queryset(self, request, queryset):
        return queryset.filter(model=self.value()) if self.value() else queryset


class TrailFilterForm(forms.Form):
    """The trail's typed filters, checked before any query: a bad value is a message, never a 500."""

    # The trail starts with this back office; a day outside this range cannot be in it, and years
    # near 1 or 9999 overflow once shifted from Tashkent time to UTC.
    FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(9998, 12, 31)

    # Staff type days as they write them (25.11.2026); links and bookmarks may carry ISO days.
    DAY_FORMATS = ("%d.%m.%Y", "%Y-%m-%d")
    from_date = forms.DateField(label=_("From"), required=False, input_formats=DAY_FORMATS)
    before_date = forms.DateField(label=_("Before"), required=False, input_formats=DAY_FORMATS)
    user_id = forms.IntegerField(label=_("staff member"), required=False, min_value=1, max_value=2**31 - 1)
    subject_id = forms.IntegerField(label=_("data subject"), required=False, min_value=1, max_value=2**31 - 1)

    def clean(self):
        cleaned = super().clean()
        for name in ("from_date", "before_date"):
            day = cleaned.get(name)
            if day and not self.FIRST_DAY <= day <= self.LAST_DAY:
                self.add_error(name, _("Give a day between %(first)s and %(last)s.") % {
                    "first": self.FIRST_DAY.isoformat(), "last": self.LAST_DAY.isoformat()})
        return cleaned

    def error_text(self) -> str:
        return " ".join(f"{self.fields[name].label}: {' '.join(errors)}" for name, errors in self.errors.items())


def parse_day(raw: str) -> date | None:
    """A day as the trail's filter form accepts it, or None."""
    for day_format in TrailFilterForm.DAY_FORMATS:
        try:
            return datetime.strptime(raw.strip(), day_format).date()
        except ValueError:
            continue
    return None


class DateRangeFilter(admin.ListFilter):
    """``?from_date=DD.MM.YYYY&before_date=DD.MM.YYYY`` (or ISO days), as whole days in Tashkent time.

    The form sits above the list (change_list.html), so the filter shows nothing in the sidebar.
    """

    title = _("date range")
    template = "admin/audit/trailentry/date_range_filter.html"  # renders nothing: the form is above
    bounds = (("from_date", "at__gte"), ("before_date", "at__lt"))

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.values = {}
        for name, _lookup in self.bounds:
            if name in params:
                value = params.pop(name)
                self.values[name] = value[-1] if isinstance(value, list) else value

    def has_output(self) -> bool:
        return True  # the changelist applies only filters that have output

    def choices(self, changelist):
        return []

    def expected_parameters(self):
        return [name for name, _lookup in self.bounds]

    def queryset(self, request, queryset):
        for name, lookup in self.bounds:
            if raw := self.values.get(name):
                day = parse_day(raw)
                if day is None:
                    raise IncorrectLookupParameters(raw)
                queryset = queryset.filter(**{lookup: timezone.make_aware(datetime.combine(day, time.min))})
        return queryset


@admin.register(TrailEntry)
class TrailEntryAdmin(SubjectNamesMixin, ReadOnlyAdmin):
    """The auditor's trail across every audited model: who did what, when, to which record, and why.

    Filters by staff member (``?user_id=``), subject (``?subject_id=``), record type, action and
    date range (``?from_date=…&before_date=…``) are each one indexed query on one table.
    """

    list_display = ("at", "who", "action", "event", "record_type", "record", "subject", "reason")
    list_filter = ("action", "event", RecordTypeFilter, DateRangeFilter)
    ordering = ("-at", "-id")
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    change_list_template = "admin/audit/trailentry/change_list.html"

    def lookup_allowed(self, lookup, value, request=None):
        return lookup in ("user_id", "subject_id") or super().lookup_allowed(lookup, value, request)

    def refuse_bad_filters(self, request):
        """A redirect to the list without the bad filters, with a message naming them; None if all are good."""
        form = TrailFilterForm(request.GET)
        if form.is_valid():
            return None
        self.message_user(request, _("This filter was not applied: %(errors)s") % {"errors": form.error_text()},
                          messages.ERROR)
        kept = request.GET.copy()
        for name in form.errors:
            kept.pop(name, None)
        url = reverse("admin:audit_trailentry_changelist")
        return HttpResponseRedirect(f"{url}?{kept.urlencode()}" if kept else url)

    # The search box finds a staff member by username, or a subject by phone, e-mail, account id or
    # PINFL: each an exact lookup on an indexed column, then the trail's own indexed filters.
    search_fields = ("username",)
    search_help_text = _("A staff member's username, or a subject's phone, e-mail, account id or PINFL.")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        staff = list(get_user_model().objects.filter(username=term).values_list("pk", flat=True))
        subjects = apps.get_model("subjects", "DataSubject").objects.search(term).values_list("pk", flat=True)[:20]
        subjects = list(subjects)
        return queryset.filter(Q(user_id__in=staff) | Q(subject_id__in=subjects)), False

    def active_filters(self, request) -> list[tuple[str, str, str]]:
        """(what, value, the list's address without it) for each filter that is on, to show above the list."""
        shown = {
            "q": _("search"), "user_id": _("staff member"), "subject_id": _("data subject"),
            "from_date": _("From"), "before_date": _("Before"), "action__exact": _("action"),
            "event__exact": _("event"), "model": _("record type"),
        }
        active = []
        for name, label in shown.items():
            if value := request.GET.get(name, "").strip():
                if name == "subject_id" and value.isdigit():
                    value = self.subject_label_of(int(value)) or value
                rest = request.GET.copy()
                rest.pop(name)
                rest.pop("p", None)
                active.append((capfirst(label), value, f"?{rest.urlencode()}" if rest else "?"))
        return active

    @staticmethod
    def subject_label_of(pk: int) -> str:
        subjects = apps.get_model("subjects", "DataSubject")
        found = subjects.objects.filter(pk=pk).values_list("account_id", "full_name").first()
        return subject_label(subjects, *found) if found else ""

    def changelist_view(self, request, extra_context=None):
        refused = self.refuse_bad_filters(request)
        if refused:
            return refused
        response = super().changelist_view(request, {**(extra_context or {}),
                                                     "active_filters": self.active_filters(request)})
        if request.GET.get(SEARCH_VAR, "").strip() and response.status_code == 200:
            # A term that may be a subject's phone or PINFL: in the access log, hashed, like the subject search.
            access_record(request=request, action=AccessEvent.Action.SUBJECT_SEARCH,
                          search_term=request.GET[SEARCH_VAR], detail="audit trail")
        return response

    @admin.display(description=_("staff member"), ordering="user_id")
    def who(self, entry):
        if entry.user_id is None:
            return entry.username or _("system")
        return format_html('<a href="?user_id={}">{}</a>', entry.user_id, entry.username)

    @admin.display(description=_("record type"))
    def record_type(self, entry):
        try:
            return capfirst(apps.get_model(entry.model)._meta.verbose_name)
        except LookupError:
            return entry.model

    @admin.display(description=_("record"))
    def record(self, entry):
        url = reverse("admin:audit_trailentry_change", args=[entry.pk])
        return format_html('<a href="{}">#{} · {}</a>', url, entry.object_id, _("changes"))


    def change_view(self, request, object_id, form_url="", extra_context=None):
        entry = get_object_or_404(TrailEntry, pk=object_id)
        if request.method != "GET" or not self.has_view_permission(request, entry):
            raise PermissionDenied  # a trail entry is only ever read
        response = self.entry_page(request, entry)
        if entry.subject_id is not None:  # the diff of a subject's record is a read of the subject (1.7.1)
            access_record(request=request, action=AccessEvent.Action.SUBJECT_VIEW, obj=entry,
                          subject_id=entry.subject_id)
        return response

    def reveal_view(self, request, pk):
        """The diff with identifiers in full, for this answer only, after a stated reason (logged)."""
        entry = get_object_or_404(TrailEntry, pk=pk)
        if request.method != "POST" or not self.has_view_permission(request, entry) \
                or not request.user.has_perm(REVEAL_PERMISSION):
            raise PermissionDenied
        form = RevealReasonForm(request.POST)
        if not form.is_valid():
            access_record(request=request, action=AccessEvent.Action.REVEAL_REFUSED, obj=entry,
                          subject_id=entry.subject_id, detail="audit trail diff: no reason given")
            return self.entry_page(request, entry, reveal_form=form)
        access_record(request=request, action=AccessEvent.Action.IDENTIFIER_REVEAL, obj=entry,
                      subject_id=entry.subject_id, field=TRAIL_DIFF_FIELD, reason=form.cleaned_data["reason"])
        return self.entry_page(request, entry, reveal=True)

    def entry_page(self, request, entry, *, reveal: bool = False, reveal_form=None):
        tracked = apps.get_model(entry.model)
        try:
            record_url = reverse(f"admin:{tracked._meta.app_label}_{tracked._meta.model_name}_change",
                                 args=[entry.object_id])
        except NoReverseMatch:
            record_url = ""
        return TemplateResponse(request, "admin/audit/trailentry/detail.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "entry": entry,
            "title": _("Change by %(who)s") % {"who": entry.username or _("system")},
            "record_type": capfirst(tracked._meta.verbose_name), "record_url": record_url,
            "rows": trail.change_rows(entry, reveal=reveal), "revealed": reveal,
            "reveal_form": (reveal_form or RevealReasonForm()) if request.user.has_perm(REVEAL_PERMISSION) else None,
            "subject_url": reverse(
                "admin:subjects_datasubject_change", args=[entry.subject_id]) if entry.subject_id else "",
        })

    def get_urls(self):
        return [
            path("export/", self.admin_site.admin_view(self.export_view), name="audit_trailentry_export"),
            path("<int:pk>/reveal/", self.admin_site.admin_view(self.reveal_view), name="audit_trailentry_reveal"),
            *super().get_urls(),
        ]

    def export_view(self, request):
        """The filtered trail as CSV, streamed in batches; the export itself is logged."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if refused := self.refuse_bad_filters(request):
            return refused  # never the whole trail in place of a filter that could not be read
        try:
            entries = self.get_changelist_instance(request).get_queryset(request)
        except IncorrectLookupParameters:  # a parameter the list does not know
            self.message_user(request, _("This filter was not applied: the list has no such filter."), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:audit_trailentry_changelist"))
        access_record(request=request, action=AccessEvent.Action.EXPORT,
                      detail=f"Audit trail CSV: {request.GET.urlencode() or 'all'}"[:500])

        def lines():
            yield CSV_BOM
            buffer = io.StringIO()
            writer = csv_writer(buffer)  # reasons and usernames are typed by people: no formula runs
            writer.writerow(["at", "staff_id", "staff", "action", "event", "record_type", "record_id", "subject_id",
                             "reason", "ip"])
            for entry in entries.iterator(chunk_size=2000):
                writer.writerow([entry.at.isoformat(), entry.user_id or "", entry.username, entry.action, entry.event,
                                 entry.model, entry.object_id, entry.subject_id or "", entry.reason, entry.ip or ""])
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="shipex-audit-trail.csv"'
        return response
