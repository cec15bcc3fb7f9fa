import re
from dataclasses import dataclass

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import BooleanField, Max, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import escape, format_html
from django.utils.http import urlencode
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from shipex_privacy.audit.access import access_record
from shipex_privacy.audit.admin import AuditedAdmin, ChangeReasonForm
from shipex_privacy.audit.models import AccessEvent
from shipex_privacy.catalogue.masking import is_masked, mask_value, masked_names, masks_for
from shipex_privacy.catalogue.models import PersonalDataField, Service
from shipex_privacy.core import identifiers
from shipex_privacy.core.paginator import CappedCountPaginator

from .history import recent_history
from .models import Address, DataSubject, ServiceUse
from .panels import (
    PanelRows,
    SubjectPanel,
    bound_entries,
    page_catalogue,
    panel_columns,
    panels_for,
    register_subject_panel,
)


def apply_catalogue(form_class, model, bound: dict | None = None):
    """Mark each bound field mandatory or optional as the catalogue says, with its clause and purposes.

    ``bound`` is the entries bound to ``model`` as the page read them (``panels.bound_entries``).
    """
    bound = PersonalDataField.objects.bound_to(model) if bound is None else bound
    for name, entry in bound.items():
        field = form_class.base_fields.get(name)
        if field is None:
            continue
        field.required = entry.is_mandatory
        clauses = getattr(entry, "purpose_clauses", None)
        purposes = ", ".join(clauses if clauses is not None else (purpose.clause for purpose in entry.purposes.all()))
        # The admin prints help text as HTML: escape what the catalogue's editors typed.
        field.help_text = escape(_("%(requirement)s · %(method)s · purposes %(purposes)s · %(code)s") % {
            "requirement": entry.get_requirement_display(),
            "method": entry.get_collection_method_display(),
            "purposes": purposes,
            "code": entry.code,
        })
    return form_class


class DataSubjectForm(ChangeReasonForm):
    keep_pinfl = forms.BooleanField(
        label=_("Keep this PINFL although its check digit does not match"),
        required=False,
        help_text=_("Only when the document shows this number; say so in the reason."),
    )

    class Meta:
        model = DataSubject
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        pinfl = cleaned.get("pinfl")
        if pinfl and "pinfl" in self.changed_data and not identifiers.pinfl_check_digit_matches(pinfl):
            if not cleaned.get("keep_pinfl"):
                self.add_error(
                    "pinfl",
                    _("The check digit of this PINFL does not match (expected %(digit)s at the end). "
                      "Check the number; if the document really shows it, tick the box below and give a reason.")
                    % {"digit": identifiers.pinfl_check_digit(pinfl[:13])},
                )
            elif not cleaned.get("change_reason", "").strip():
                self.add_error("change_reason", _("Say why the PINFL is kept despite its check digit."))
        return cleaned


REVEAL_PERMISSION = "subjects.reveal_identifiers"
# What the subject page masks for staff who only read it (clause 1.7.1), and how, is the catalogue's
# rule (catalogue.masking): its bound entries say which fields are masked.
ADDRESS_TARGET = "address-"
ADDRESS_ID_RE = re.compile(r"[0-9]{1,18}")  # ASCII digits, within a bigint


def can_reveal(request) -> Value:
    """A constant column on the page's objects, so that their display methods know it."""
    return Value(request.user.has_perm(REVEAL_PERMISSION), output_field=BooleanField())


def masked_display(model, name: str, target: str | None = None):
    """A read-only display of ``name``, masked, with a "Reveal" link for those who may reveal it."""
    verbose_name = model._meta.get_field(name).verbose_name

    @admin.display(description=verbose_name)
    def display(self, obj):
        value = getattr(obj, name)
        if not value:
            return self.get_empty_value_display()
        masked = mask_value(model, name, value)
        if not getattr(obj, "can_reveal_identifiers", False) or target is None:
            return masked
        subject_id = obj.pk if model is DataSubject else obj.subject_id
        what = target if target != ADDRESS_TARGET else f"{ADDRESS_TARGET}{obj.pk}"
        url = f"{reverse('admin:subjects_datasubject_reveal', args=[subject_id])}?{urlencode({'field': what})}"
        return format_html(
            '{} <a class="reveal-link" href="{}" aria-label="{}">{}</a>',
            masked, url, _("Reveal %(field)s") % {"field": verbose_name}, _("Reveal"),
        )

    display.__name__ = f"masked_{name}"
    return display


class AddressInline(admin.TabularInline):
    model = Address
    extra = 0
    fields = ("kind", "region", "city", "street", "landmark", "postal_code")

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        apply_catalogue(formset.form, Address, bound_entries(request, Address))
        return formset


class MaskedAddressInline(AddressInline):
    """Addresses for staff who only read them: street and landmark masked, each with its "Reveal" link.

    Its template leaves out the row's title, which is the address in full.
    """

    template = "admin/subjects/datasubject/masked_address_inline.html"

    def get_fields(self, request, obj=None):
        return masked_names(Address, AddressInline.fields)

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(can_reveal_identifiers=can_reveal(request))


# A masked display for every personal-data field; the catalogue decides which ones are shown so.
# The "Reveal" link of an address, on its street, reveals every masked part of it.
for _name in Address.PERSONAL_DATA_FIELDS:
    setattr(MaskedAddressInline, f"masked_{_name}",
            masked_display(Address, _name, target=ADDRESS_TARGET if _name == "street" else None))


class RevealForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you need to see it in full?"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text=_("Kept in the access log with your name. Example: “DSR #42: comparing the PINFL with the "
                    "passport copy the subject sent”."),
        error_messages={
            "required": _("Say why you need to see this value; nothing is shown without a reason, "
                          "and the reason is kept in the access log."),
        },
    )


@dataclass(frozen=True)
class RevealTarget:
    """One masked value of a subject that may be revealed: the subject's own field or an address."""

    key: str
    label: str
    obj: object
    fields: tuple[str, ...]
    masked: str
    full: str


# The histories a subject page's version is made of (AuditedAdmin.version_parts): the subject's own
# and its inline's rows, each with the column that names the subject.
VERSIONED_ROWS = ((DataSubject, "id"), (Address, "subject_id"))


@admin.register(DataSubject)
class DataSubjectAdmin(AuditedAdmin):
    form = DataSubjectForm
    inlines = [AddressInline]
    default_reason = _("Registered in the back office")
    list_display = (
        "account_id", "full_name", "phone_masked", "email_masked", "pinfl_masked", "status", "registered_at",
    )
    list_filter = ("status", "preferred_language")
    # The search is our own (exact lookups on normalised values); search_fields only turns the box on.
    search_fields = ("account_id",)
    search_help_text = _("Phone (any format), e-mail, account id or PINFL — exact match; or the start of a name "
                         "(3 letters or more, Latin or Cyrillic, apostrophes and accents as you like).")
    # registered_at is set when the account is created; the form would round away its microseconds.
    readonly_fields = ("registered_at", "status", "status_changed_at")
    paginator = CappedCountPaginator  # the change list says when a count stops at the cap
    show_full_result_count = False
    list_per_page = 50
    change_form_template = "admin/subjects/datasubject/change_form.html"

    def get_inlines(self, request, obj):
        # Whoever edits addresses sees what they edit; read-only roles see street and landmark masked.
        if obj is not None and not request.user.has_perm("subjects.change_address"):
            return [MaskedAddressInline]
        return self.inlines

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(can_reveal_identifiers=can_reveal(request))

    def shows_in_full(self, request, obj=None) -> bool:
        """Staff who edit a subject see what they edit; read-only roles see identifiers masked."""
        return self.has_change_permission(request, obj)

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset & DataSubject.objects.search(search_term, by_name=True), False

    def get_form(self, request, obj=None, change=False, **kwargs):
        return apply_catalogue(super().get_form(request, obj, change, **kwargs), DataSubject,
                               bound_entries(request, DataSubject))

    def get_fieldsets(self, request, obj=None):
        bound = bound_entries(request, DataSubject)
        by_category: dict[str, list[str]] = {}
        for name in DataSubject.PERSONAL_DATA_FIELDS:
            entry = bound.get(name)
            by_category.setdefault(entry.category if entry else "", []).append(name)
        if self.can_write(request, obj) and "pinfl" in by_category.get(PersonalDataField.Category.DOCUMENT, []):
            by_category[PersonalDataField.Category.DOCUMENT].append("keep_pinfl")
        fieldsets = [
            (label, {"fields": by_category[category]})
            for category, label in PersonalDataField.Category.choices
            if category in by_category
        ]
        if "" in by_category:
            fieldsets.append((_("Not in the catalogue"), {"fields": by_category[""]}))
        fieldsets.append((_("Status"), {"fields": ["status", "status_changed_at"]}))
        if self.can_write(request, obj):
            fieldsets.append(self.reason_fieldset())
        if obj is not None and not self.shows_in_full(request, obj):
            fieldsets = [
                (title, {**options, "fields": masked_names(DataSubject, options["fields"])})
                for title, options in fieldsets
            ]
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if obj is None or self.shows_in_full(request, obj):
            return fields
        return (*fields, *(f"masked_{name}" for name in masks_for(DataSubject)))

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("<path:object_id>/reveal/", self.admin_site.admin_view(self.reveal_view),
                 name="{}_{}_reveal".format(*info)),
            *super().get_urls(),
        ]

    # The change page reads the subject once (issue 15): one query brings the record, its page
    # version and every column the panels asked for; the catalogue is read once for the whole page.

    def get_object(self, request, object_id, from_field=None):
        match = request.resolver_match
        if request.method != "GET" or not match or match.url_name != "subjects_datasubject_change":
            return super().get_object(request, object_id, from_field)
        key = (object_id, from_field)
        cached = getattr(request, "_subject_page_object", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        page_catalogue(request)
        obj = self._page_object(request, object_id, from_field)
        request._subject_page_object = (key, obj)
        return obj

    def _page_object(self, request, object_id, from_field=None):
        queryset = self.get_queryset(request).annotate(**self._version_columns(), **panel_columns(request))
        field = self.opts.pk if from_field is None else self.opts.get_field(from_field)
        try:
            obj = queryset.get(**{field.name: field.to_python(object_id)})
        except (DataSubject.DoesNotExist, ValidationError, ValueError):
            return None
        # The version comes from the same statement as the record, so from the same snapshot: the page
        # is never newer than its version (the address rows, read later, may be; a save then is refused).
        latest = {key: getattr(obj, column) for key, column in self._version_column_names().items()}
        obj._page_version = ";".join(
            f"{part.key}:{latest[part.key] if part.key in latest else part.latest()}"
            for part in self.version_parts(request, obj)
        )
        return obj

    @staticmethod
    def _version_column_names() -> dict[str, str]:
        return {model._meta.label_lower: f"page_version_{model._meta.model_name}" for model, _fk in VERSIONED_ROWS}

    def _version_columns(self) -> dict:
        names = self._version_column_names()
        return {
            names[model._meta.label_lower]: Coalesce(Subquery(
                model.history.filter(**{fk: OuterRef("pk")}).order_by().values(fk)
                .annotate(latest=Max("history_id")).values("latest")
            ), 0)
            for model, fk in VERSIONED_ROWS
        }

    # Reads of personal data write the access log (clause 1.7.1), once the page is ready.

    def change_view(self, request, object_id, form_url="", extra_context=None):
        subject = self.get_object(request, unquote(object_id))
        extra_context = {**(extra_context or {}), "subject_panels": panels_for(request, subject) if subject else []}
        response = super().change_view(request, object_id, form_url, extra_context)
        if subject is not None and response.status_code == 200:
            access_record(request=request, action=AccessEvent.Action.SUBJECT_VIEW, obj=subject, subject_id=subject.pk)
        return response

    def history_view(self, request, object_id, extra_context=None):
        response = super().history_view(request, object_id, extra_context)
        subject = self.get_object(request, unquote(object_id)) if response.status_code == 200 else None
        if subject is not None:
            access_record(
                request=request, action=AccessEvent.Action.SUBJECT_HISTORY, obj=subject, subject_id=subject.pk
            )
        return response

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # One old version as a form shows every identifier in full: only for those who see them so.
        if not self.shows_in_full(request):
            raise PermissionDenied
        response = super().history_form_view(request, object_id, version_id, extra_context)
        subject = self.get_object(request, unquote(object_id)) if response.status_code == 200 else None
        if subject is not None:
            access_record(
                request=request, action=AccessEvent.Action.SUBJECT_HISTORY, obj=subject, subject_id=subject.pk,
                detail=f"version={version_id}",
            )
        return response

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        term = request.GET.get(SEARCH_VAR, "")
        changelist = getattr(response, "context_data", {}).get("cl")
        if term.strip() and response.status_code == 200 and changelist is not None:
            access_record(
                request=request, action=AccessEvent.Action.SUBJECT_SEARCH, search_term=term,
                detail=f"results={changelist.result_count}",
            )
        return response

    # Revealing one masked value: a reason, a line in the access log, and the value on this answer only.

    def reveal_targets(self, subject) -> dict[str, RevealTarget]:
        targets = {
            name: RevealTarget(
                key=name, label=capfirst(DataSubject._meta.get_field(name).verbose_name), obj=subject,
                fields=(name,), masked=mask(str(getattr(subject, name))),
                full=identifiers.format_phone(subject.phone) if name == "phone" else str(getattr(subject, name)),
            )
            for name, mask in masks_for(DataSubject).items()
            if getattr(subject, name)
        }
        return targets

    def address_target(self, subject, key: str) -> RevealTarget | None:
        address_id = key.removeprefix(ADDRESS_TARGET)
        if not ADDRESS_ID_RE.fullmatch(address_id):
            return None  # "²" or "١" pass isdigit() but are no id; a 30-digit one overflows the column
        address = subject.addresses.filter(pk=int(address_id)).first()
        if address is None:
            return None  # another subject's address, or none at all: a forged id
        masked = [name for name in Address.PERSONAL_DATA_FIELDS if is_masked(Address, name) and getattr(address, name)]
        if not masked:
            return None
        return RevealTarget(
            key=key, label=capfirst(Address._meta.verbose_name), obj=address, fields=tuple(masked),
            masked=", ".join(mask_value(Address, name, getattr(address, name)) for name in masked),
            full=" — ".join(str(getattr(address, name)) for name in masked),
        )

    def reveal_view(self, request, object_id):
        subject = self.get_object(request, unquote(object_id))
        if subject is None:
            raise Http404(_("No such data subject."))
        if not self.has_view_permission(request, subject) or not request.user.has_perm(REVEAL_PERMISSION):
            if request.method == "POST":  # an attempt on personal data leaves a trace
                access_record(request=request, action=AccessEvent.Action.REVEAL_REFUSED, obj=subject,
                              subject_id=subject.pk, detail="no permission to reveal")
            raise PermissionDenied
        key = (request.POST if request.method == "POST" else request.GET).get("field", "")
        if key.startswith(ADDRESS_TARGET):
            target = self.address_target(subject, key)
        else:
            target = self.reveal_targets(subject).get(key)
        if target is None:
            raise Http404(_("This subject has no such value to reveal."))

        revealed = False
        form = RevealForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            access_record(
                request=request, action=AccessEvent.Action.IDENTIFIER_REVEAL, obj=target.obj, subject_id=subject.pk,
                field=", ".join(target.fields), reason=form.cleaned_data["reason"],
            )
            revealed = True
        elif request.method == "POST":  # refused for want of a reason: no value, but a trace
            access_record(request=request, action=AccessEvent.Action.REVEAL_REFUSED, obj=target.obj,
                          subject_id=subject.pk, field=", ".join(target.fields), detail="no reason given")
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reveal %(field)s") % {"field": target.label},
            "subtitle": str(subject),
            "opts": self.opts,
            "subject": subject,
            "target": target,
            "form": form,
            "revealed": revealed,
            "change_url": reverse("admin:subjects_datasubject_change", args=[subject.pk]),
        }
        # The value lives on this answer only: nothing in the session, and never cached.
        return TemplateResponse(request, "admin/subjects/datasubject/reveal.html", context)

    def has_delete_permission(self, request, obj=None):
        # A subject is closed or anonymised, never deleted: auditors may ask about it later.
        return False

    @admin.display(description=_("phone"), ordering="phone")
    def phone_masked(self, subject):
        return mask_value(DataSubject, "phone", subject.phone)

    @admin.display(description=_("e-mail"))
    def email_masked(self, subject):
        return mask_value(DataSubject, "email", subject.email)

    @admin.display(description=_("PINFL"))
    def pinfl_masked(self, subject):
        return mask_value(DataSubject, "pinfl", subject.pinfl)


for _name in DataSubject.PERSONAL_DATA_FIELDS:
    setattr(DataSubjectAdmin, f"masked_{_name}", masked_display(DataSubject, _name, target=_name))


def masked_address(address) -> str:
    return ", ".join(mask_value(Address, name, getattr(address, name)) for name in ("street", "city", "region")
                     if getattr(address, name))


def history_panel_context(request, subject):
    entries = recent_history(subject)
    if not request.user.has_perm("subjects.change_address"):
        # The panel names each changed address; read-only roles get it with the street masked.
        for entry in entries:
            if isinstance(entry["record"].instance, Address):
                entry["what"] = _("Address: %(address)s") % {"address": masked_address(entry["record"].instance)}
    return {"entries": entries, "subject": subject}


register_subject_panel(
    SubjectPanel(
        title=_("Change history"),
        template="admin/subjects/datasubject/history_panel.html",
        context=history_panel_context,
        permission="subjects.view_historicaldatasubject",
        order=90,
    )
)


SERVICES_COLUMN = "services_panel_rows"
SERVICE_USE_FIELDS = ("id", "subject_id", "service_id", "started_on")


def _services_used(subject=None):
    uses = ServiceUse.objects.filter(subject=OuterRef("pk") if subject is None else subject)
    return uses.select_related("service").order_by("started_on", "service__code")


def _service_fields() -> list[str]:
    return [field.attname for field in Service._meta.concrete_fields]


def services_panel_columns(request) -> dict:
    # The services a subject uses are few (one row per ShipEx service): read with the subject's row.
    fields = [*SERVICE_USE_FIELDS, *(f"service__{name}" for name in _service_fields())]
    return {SERVICES_COLUMN: PanelRows(_services_used(), fields)}


def _service_use_from(db, values):
    service_fields = _service_fields()
    use = PanelRows.instance(ServiceUse, db, SERVICE_USE_FIELDS, values[:len(SERVICE_USE_FIELDS)])
    use.service = PanelRows.instance(Service, db, service_fields, values[len(SERVICE_USE_FIELDS):])
    return use


def services_panel_context(request, subject):
    if hasattr(subject, SERVICES_COLUMN):
        db = subject._state.db
        return {"rows": PanelRows.rows_of(subject, SERVICES_COLUMN, lambda values: _service_use_from(db, values))}
    # A subject read without the panel's column: one query with the services' names.
    return {"rows": list(_services_used(subject))}


register_subject_panel(
    SubjectPanel(
        title=_("Services used"),
        template="admin/subjects/datasubject/services_panel.html",
        context=services_panel_context,
        permission="subjects.view_serviceuse",
        order=30,
        columns=services_panel_columns,
    )
)
