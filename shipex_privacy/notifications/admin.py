"""Staff e-mail in the admin: each staff member's own "My e-mail" page, and read-only lists of
everybody's choices and of the mail sent, for the compliance team and auditors."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import path
from django.utils.translation import gettext_lazy as _

from shipex_privacy.audit.admin import ReadOnlyHistoryAdmin
from shipex_privacy.core.admin import ReadOnlyAdmin, admin_page

from . import services
from .models import NotificationPreference, SentMail


class MyEmailForm(forms.Form):
    language = forms.ChoiceField(label=_("Language of my e-mail"), choices=settings.LANGUAGES)

    def __init__(self, *args, offered: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        for name in offered:
            model_field = NotificationPreference._meta.get_field(name)
            self.fields[name] = forms.BooleanField(label=model_field.verbose_name, help_text=model_field.help_text,
                                                   required=False)


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(ReadOnlyHistoryAdmin):
    """Everybody's choices, read only; each staff member changes their own on "My e-mail"."""

    list_display = ("user", *NotificationPreference.CHOICES, "updated_at")
    list_select_related = ("user",)
    ordering = ("user__username",)

    def get_urls(self):
        return [path("mine/", self.admin_site.admin_view(self.my_email_view), name="notifications_my_email"),
                *super().get_urls()]

    def my_email_view(self, request):
        """Any signed-in staff member's own choices: no model permission is needed to choose one's own mail,
        as none is needed to change one's own password."""
        user = request.user
        if not user.is_active or not user.is_staff:
            raise PermissionDenied
        offered = services.offered_choices(user)
        chosen = services.preferences_of(user)
        initial = {"language": user.language, **{name: getattr(chosen, name) for name in offered}}
        form = MyEmailForm(request.POST or None, initial=initial, offered=offered)
        if request.method == "POST" and form.is_valid():
            changed = services.preferences_update(
                user=user, language=form.cleaned_data["language"],
                choices={name: form.cleaned_data[name] for name in offered}, actor=user)
            self.message_user(request, _("Your e-mail choices were saved.") if changed
                              else _("Nothing changed."), messages.SUCCESS if changed else messages.INFO)
            return redirect("admin:notifications_my_email")
        return admin_page(self, request, "admin/notifications/notificationpreference/my_email.html",
                          _("My e-mail"), form=form, address=user.email)


@admin.register(SentMail)
class SentMailAdmin(ReadOnlyAdmin):
    """What went out: who got which mail on which day (the mails themselves are not kept)."""

    list_display = ("sent_at", "user", "kind", "day", "key", "items")
    list_filter = ("kind", "day")
    list_select_related = ("user",)
    show_full_result_count = False
