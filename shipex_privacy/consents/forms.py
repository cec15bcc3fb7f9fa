from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shipex_privacy.catalogue.models import Purpose

from .models import Channel, PolicyVersion, RecipientKind, term_end
from .services import MAX_IMPORT_BYTES, import_file_lines


class WithdrawConsentForm(forms.Form):
    occurred_at = forms.DateTimeField(
        label=_("When the subject withdrew it"), initial=timezone.now,
        help_text=_("Now, unless the subject withdrew it earlier (for example in a letter)."),
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.CALL_CENTRE)
    evidence_reference = forms.CharField(label=_("Evidence"), max_length=200, required=False,
                                         help_text=_("Call recording id, letter number…"))
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


class GrantConsentForm(forms.Form):
    account_id = forms.CharField(label=_("Account id"), max_length=20)
    purpose = forms.ModelChoiceField(label=_("Purpose"), queryset=Purpose.objects.all())
    recipient_kind = forms.ChoiceField(
        label=_("Recipient kind (1.4.3.1)"), choices=[("", "—"), *RecipientKind.choices], required=False
    )
    occurred_at = forms.DateTimeField(label=_("When the subject consented"), initial=timezone.now)
    term_ends_on = forms.DateField(
        label=_("Term: last day in force"), required=False,
        help_text=_("Empty (and no end time below): until withdrawn. The consent lapses at 00:00 Tashkent "
                    "time on the day after."))
    expires_at = forms.DateTimeField(label=_("Or: in force until (date and time)"), required=False,
                                     help_text=_("Only when the document names a time of day."))
    channel = forms.ChoiceField(
        label=_("Channel"), choices=Channel.choices,
        help_text=_("Consent to special or biometric data is taken only in writing or electronically, "
                    "never by phone."))
    policy_version = forms.ModelChoiceField(label=_("Policy version"), queryset=PolicyVersion.objects.published())
    evidence_reference = forms.CharField(label=_("Evidence"), max_length=200, required=False)
    covered_data = forms.CharField(
        label=_("Data covered"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Catalogue codes, separated by commas: contact.email, identity.full_name. Empty: the data "
                    "the catalogue lists for the purpose."),
    )
    allows_third_party_transfer = forms.BooleanField(label=_("Allows transfer to third parties"), required=False)
    allows_cross_border_transfer = forms.BooleanField(label=_("Allows cross-border transfer"), required=False)
    allows_publication = forms.BooleanField(label=_("Allows publication"), required=False)

    def clean_covered_data(self) -> list[str]:
        return [code.strip() for code in self.cleaned_data["covered_data"].split(",") if code.strip()]

    def clean(self):
        data = super().clean()
        last_day, until = data.get("term_ends_on"), data.get("expires_at")
        if last_day and until:
            raise forms.ValidationError(_("Give the term as a last day or as an end time, not both."))
        # The moment the consent stops being in force, as the ledger keeps it (None: until withdrawn).
        data["term_end"] = term_end(last_day) if last_day else until
        return data


class ConsentImportForm(forms.Form):
    # An empty file is refused by the import itself, with the same words as in the command.
    file = forms.FileField(
        allow_empty_file=True,
        label=_("CSV file from the ShipEx app"),
        help_text=_("UTF-8, comma-separated, header row first. All rows or none are recorded."),
    )

    def clean_file(self) -> list[str]:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:  # before reading it into memory
            raise forms.ValidationError(_("The file is larger than 10 MB; split it."))
        # The same reading as the command's, so that both refuse the same files with the same words.
        return import_file_lines(upload.read())


class CompareVersionsForm(forms.Form):
    other = forms.ModelChoiceField(label=_("Compare with"), queryset=PolicyVersion.objects.all())
