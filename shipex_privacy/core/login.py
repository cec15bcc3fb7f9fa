"""Login protection (clause 1.7.1): the two-factor login form, the lock-out page, TOTP enrolment.

- Wrong passwords: django-axes counts them per username + address and, at the limit, answers with
  ``locked_out_response`` — our login page with a message — instead of its plain-text default.
- Two-factor: ``TwoFactorLoginForm`` asks for the six-digit code of the staff member's authenticator
  (django-otp's TOTP device) as well as the password, when ``SHIPEX_TWO_FACTOR_REQUIRED`` is on.
- Enrolment: ``totp_device_enrol`` gives a staff member a new authenticator secret; it is run by an
  operator (``manage.py enrol_totp USERNAME``), never from a password-only session, so a stolen
  password is not enough to enrol an attacker's phone.
"""

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.db import transaction
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy
from django_otp.admin import OTPAdminAuthenticationForm
from django_otp.plugins.otp_totp.models import TOTPDevice

LOCKED_OUT = ngettext_lazy(
    "Too many wrong passwords for this account from your address. Signing in from here is blocked for "
    "%(minutes)d minute; try again after that, or ask an administrator to lift the block.",
    "Too many wrong passwords for this account from your address. Signing in from here is blocked for "
    "%(minutes)d minutes; try again after that, or ask an administrator to lift the block.",
    "minutes",
)
DEVICE_NAME = "ShipEx back office"


def cool_off_minutes() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)


class TwoFactorLoginForm(OTPAdminAuthenticationForm):
    """Username, password and the code from the staff member's authenticator app.

    Each staff member has one TOTP device (``enrol_totp`` replaces it), so the form does not ask
    which device: it takes the account's own confirmed one.
    """

    otp_token = forms.CharField(
        label=_("Code from your authenticator app"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "size": 8}),
    )
    otp_error_messages = {
        **OTPAdminAuthenticationForm.otp_error_messages,
        "token_required": _("Enter the six-digit code from your authenticator app."),
        "invalid_token": _("That code is not right. Enter the code your authenticator app shows now."),
        "device_required": _(
            "This account has no authenticator yet. Ask the system administrator to enrol one for you."
        ),
    }

    def _chosen_device(self, user):
        # The parent checks that a device named in the form belongs to this user; without one, use
        # the user's own (locked, as django-otp locks the device it verifies against).
        device = super()._chosen_device(user)
        if device is None:
            device = TOTPDevice.objects.devices_for_user(user, confirmed=True).select_for_update().first()
        if device is None:
            raise forms.ValidationError(self.otp_error_messages["device_required"], code="device_required")
        return device


def locked_out_response(request, original_response=None, credentials=None):
    """django-axes' AXES_LOCKOUT_CALLABLE: the admin login page again, saying why it refuses.

    Rendered here rather than by re-running the login view, which would count another failure.
    """
    from django.contrib import admin

    site = admin.site
    form_class = site.login_form or AdminAuthenticationForm
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    context = {
        **site.each_context(request),
        "title": _("Log in"),
        "subtitle": None,
        "app_path": request.get_full_path(),
        "username": request.user.get_username(),
        "next": request.POST.get("next") or reverse("admin:index", current_app=site.name),
        "form": form_class(request, initial={"username": username}),
        "locked_out": LOCKED_OUT % {"minutes": cool_off_minutes()},
    }
    request.current_app = site.name
    return render(request, site.login_template or "admin/login.html", context,
                  status=settings.AXES_HTTP_RESPONSE_CODE)


@transaction.atomic
def totp_device_enrol(*, username: str, replace: bool = False) -> TOTPDevice:
    """A new authenticator secret for an active staff member; ``replace`` retires the old one.

    The device is confirmed at once: the secret reaches the staff member through the operator
    who ran the command, and the first sign-in proves that their app produces the right codes.
    """
    user = get_user_model().objects.filter(username=username, is_active=True, is_staff=True).first()
    if user is None:
        raise ValueError(f"No active staff account is called {username!r}.")
    existing = TOTPDevice.objects.devices_for_user(user)
    if existing.exists():
        if not replace:
            raise ValueError(
                f"{username} already has an authenticator. Run again with --replace to issue a new secret "
                "(the old one stops working)."
            )
        existing.delete()
    device = TOTPDevice(user=user, name=DEVICE_NAME, confirmed=True)
    device.full_clean()
    device.save()
    return device
