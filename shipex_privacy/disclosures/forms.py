from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shipex_privacy.audit.admin import ChangeReasonForm
from shipex_privacy.subjects.models import DataSubject, normalise_account_id

from .models import DisclosedSubject, Disclosure


class DisclosureForm(ChangeReasonForm):
    subject_ids = forms.CharField(
        label=_("Subjects"), required=False, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Account ids, one per line or separated by commas. Leave empty for aggregate data (1.4.3.5)."),
    )

    class Meta:
        model = Disclosure
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["subject_ids"].initial = "\n".join(
                self.instance.disclosed_subjects.order_by("subject__account_id")
                .values_list("subject__account_id", flat=True)
            )

    def clean_subject_ids(self) -> list[DataSubject]:
        # Each id as the model stores it (the one normaliser: any case, any script's digits), looked
        # up in one query; an id that fits no pattern is simply not found.
        wanted = {}
        for token in self.cleaned_data["subject_ids"].replace(",", "\n").split():
            try:
                wanted[token] = normalise_account_id(token)
            except ValidationError:
                wanted[token] = None
        found = {subject.account_id: subject
                 for subject in DataSubject.objects.filter(account_id__in={i for i in wanted.values() if i})}
        unknown = sorted({token for token, account_id in wanted.items() if account_id not in found})
        if unknown:
            raise forms.ValidationError(_("No subject with account id: %(ids)s.") % {"ids": ", ".join(unknown)})
        return [found[account_id] for account_id in sorted(found)]


class SendForm(forms.Form):
    """The send step: the back office builds the file; the page carries the version its preview showed.
    An aggregate-only disclosure (1.4.3.5) attaches the statistics file that is sent instead."""

    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, disclosure: Disclosure, **kwargs):
        super().__init__(*args, **kwargs)
        if disclosure.aggregate_only:
            self.fields["statistics"] = forms.FileField(
                label=_("Statistics file sent"),
                help_text=_("The depersonalised statistics exactly as they are sent; its SHA-256 is computed here."))


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class NotifiedForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=DisclosedSubject.Channel.choices)
    at = forms.DateTimeField(label=_("When the subject was notified"), initial=timezone.now)


class RopaForm(forms.Form):
    as_of = forms.DateField(label=_("As of"), required=False, help_text=_("Empty: today's catalogue."))
