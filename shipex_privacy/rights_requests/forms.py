from django import forms
from django.contrib.admin.helpers import ActionForm
from django.contrib.auth import get_user_model
from django.forms.models import ModelChoiceIterator
from django.utils import timezone
from django.utils.text import capfirst, format_lazy
from django.utils.translation import gettext_lazy as _

from shipex_privacy.audit.admin import ChangeReasonForm
from shipex_privacy.subjects.models import Address, DataSubject

from .models import DeadlineRule, ResponseTemplate, SubjectRequest
from .services import CORRECTABLE_ADDRESS_FIELDS, CORRECTABLE_FIELDS


class SubjectRequestForm(ChangeReasonForm):
    class Meta:
        model = SubjectRequest
        fields = ("kind", "channel", "received_at", "requester_name", "requester_contact", "details",
                  "internal_notes", "response_text")

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None:  # what request_receive refuses, said next to the field
            if cleaned.get("received_at") and cleaned["received_at"] > timezone.now():
                self.add_error("received_at", _("A request cannot be received in the future."))
            if cleaned.get("kind") and not DeadlineRule.objects.filter(kind=cleaned["kind"]).exists():
                self.add_error("kind", _("There is no deadline rule for this kind; the compliance team must add one."))
        return cleaned


class ReadAtOnceChoiceIterator(ModelChoiceIterator):
    """Django's choice iterator reads through ``iterator()``, on PostgreSQL a server-side cursor: three
    round trips (declare, fetch, close) for the few staff the queue offers on every page. One query here."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset.all():
            yield self.choice(obj)


class StaffChoiceField(forms.ModelChoiceField):
    iterator = ReadAtOnceChoiceIterator


class AssignActionForm(ActionForm):
    # Only staff who may work requests are offered (request_assign refuses anyone else anyway).
    assignee = StaffChoiceField(
        label=_("to"), required=False, empty_label=_("me"),
        queryset=get_user_model().objects.with_perm(
            "rights_requests.change_subjectrequest", backend="django.contrib.auth.backends.ModelBackend",
        ).filter(is_staff=True).order_by("username"),
    )


class MatchForm(forms.Form):
    term = forms.CharField(label=_("Phone, e-mail, account id or PINFL"), max_length=200)


class VerifyForm(forms.Form):
    method = forms.ChoiceField(label=_("How was the identity verified?"),
                               choices=SubjectRequest.IdentityMethod.choices)


class MoveForm(forms.Form):
    # Only the moves the workflow allows from the request's status now (SubjectRequest.allowed_moves).
    status = forms.ChoiceField(label=_("Move to"), choices=())
    response_text = forms.CharField(label=_("Response to the subject"), required=False,
                                    widget=forms.Textarea(attrs={"rows": 18, "cols": 90}),
                                    help_text=_("Required to close the request as done or refused."))
    note = forms.CharField(label=_("Note for the history"), max_length=500, required=False)

    def __init__(self, data=None, *, request_obj: SubjectRequest, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["status"].choices = [(status.value, status.label) for status in request_obj.allowed_moves()]


class CloseForm(forms.Form):
    """Closing with the template's answer: the draft is shown for a last look and may be edited."""

    response_text = forms.CharField(label=_("Response to the subject"),
                                    widget=forms.Textarea(attrs={"rows": 18, "cols": 90}))
    note = forms.CharField(label=_("Note for the history"), max_length=500, required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2, "cols": 80}))


class ExtendForm(ReasonForm):
    days = forms.IntegerField(label=_("Days to add"), min_value=1, max_value=365)


class CorrectionForm(forms.ModelForm):
    """The subject's correctable fields; the model's own validation (formats, catalogue-mandatory) applies."""

    class Meta:
        model = DataSubject
        fields = CORRECTABLE_FIELDS
        # dd.mm.yyyy as staff write it, in every language (the browser's date box showed mm/dd/yyyy).
        widgets = {"birth_date": forms.DateInput(format="%d.%m.%Y", attrs={"size": 10, "placeholder": _("dd.mm.yyyy")})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "birth_date" in self.fields:
            self.fields["birth_date"].input_formats = ["%d.%m.%Y", "%Y-%m-%d"]
        remember_shown_values(self)

    def changes(self) -> dict:
        return {name: getattr(self.instance, name) for name in self.changed_data}


def remember_shown_values(form) -> None:
    # A change is what the agent changed on the page as shown, not the difference from the
    # database when they submit: what a colleague saved meanwhile is never silently reverted.
    for field in form.fields.values():
        field.show_hidden_initial = True


class AddressCorrectionForm(forms.ModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        remember_shown_values(self)


AddressCorrectionFormSet = forms.modelformset_factory(
    Address, form=AddressCorrectionForm, fields=CORRECTABLE_ADDRESS_FIELDS, extra=0, can_delete=False,
)


def address_changes(formset) -> dict[int, dict]:
    """What the agent changed in each address of the formset, by address id."""
    return {form.instance.pk: {name: form.cleaned_data[name] for name in form.changed_data}
            for form in formset.forms if form.changed_data}


class CorrectionForms:
    """The subject's fields and their addresses on one correction page, validated together."""

    def __init__(self, data, subject: DataSubject):
        self.subject = CorrectionForm(data, instance=subject)
        self.addresses = AddressCorrectionFormSet(data, queryset=subject.addresses.all(), prefix="addresses")
        self.cleaned_data = {}

    def is_valid(self) -> bool:
        return all([self.subject.is_valid(), self.addresses.is_valid()])  # both, so both show their errors

    def changes(self) -> dict:
        return self.subject.changes()

    def address_changes(self) -> dict[int, dict]:
        return address_changes(self.addresses)

    @property
    def management_form(self):
        return self.addresses.management_form

    @property
    def sections(self) -> list[tuple[str, forms.BaseForm]]:
        """(heading, form) of each part, for the step page to lay out as the admin's fieldsets."""
        addresses = enumerate(self.addresses.forms, start=1)
        return [(capfirst(DataSubject._meta.verbose_name), self.subject),
                *((format_lazy("{} {}", _("Address"), number), form) for number, form in addresses)]


class ResponseTemplateForm(ChangeReasonForm):
    class Meta:
        model = ResponseTemplate
        fields = ("kind", "outcome", "language", "body")
        widgets = {"body": forms.Textarea(attrs={"rows": 14, "cols": 90})}


class ConsentChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, consent):
        # Purpose and scope only: the page names the subject already.
        label = str(consent.purpose)
        if consent.recipient_kind:
            label += f" · {consent.get_recipient_kind_display()}"
        return f"{label} · {_('granted')} {timezone.localtime(consent.granted_at):%d.%m.%Y}"


class WithdrawConsentsForm(forms.Form):
    consents = ConsentChoiceField(label=_("Consents the subject withdraws"), queryset=None, required=False,
                                  widget=forms.CheckboxSelectMultiple)

    def __init__(self, data=None, *, queryset=None):
        super().__init__(data)
        self.fields["consents"].queryset = queryset


class TaskDoneForm(forms.Form):
    note = forms.CharField(label=_("What the system's owner did"), max_length=500, required=False,
                           widget=forms.Textarea(attrs={"rows": 2, "cols": 80}))
