"""Two-factor sign-in: with SHIPEX_TWO_FACTOR_REQUIRED on (as in production), a password is not enough."""

from base64 import b32decode

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from shipex_privacy.core.login import TwoFactorLoginForm, totp_device_enrol
from tests.accounts.factories import TEST_PASSWORD, StaffFactory

pytestmark = pytest.mark.django_db

LOGIN = reverse("admin:login")
INDEX = reverse("admin:index")
SUBJECTS = reverse("admin:subjects_datasubject_changelist")
two_factor = override_settings(SHIPEX_TWO_FACTOR_REQUIRED=True)


def code_of(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The six digits the staff member's authenticator app shows now (or ``steps_ahead`` × 30 s on)."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=steps_ahead):06d}"


def error(code: str) -> str:
    """The login form's error, as the Uzbek page shows it."""
    with translation.override("uz"):
        return escape(str(TwoFactorLoginForm.otp_error_messages[code]))


def sign_in(client, user, **extra):
    return client.post(LOGIN, {"username": user.username, "password": TEST_PASSWORD, "next": INDEX, **extra})


@pytest.fixture
def device(support_agent):
    return totp_device_enrol(username=support_agent.username)


@two_factor
def test_the_password_alone_does_not_reach_the_admin(client, support_agent, device):
    response = sign_in(client, support_agent)
    assert response.status_code == 200  # the login page again
    assert error("token_required") in response.content.decode()
    assert "_auth_user_id" not in client.session
    response = client.get(INDEX)
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


@two_factor
def test_password_and_authenticator_code_reach_the_admin(client, support_agent, device):
    response = sign_in(client, support_agent, otp_token=code_of(device))
    assert response.status_code == 302
    assert response["Location"] == INDEX
    assert client.get(INDEX).status_code == 200
    assert client.get(SUBJECTS).status_code == 200


@two_factor
def test_a_wrong_code_is_refused(client, support_agent, device):
    wrong = code_of(device, steps_ahead=10)  # a real code, but five minutes early
    response = sign_in(client, support_agent, otp_token=wrong)
    assert response.status_code == 200
    assert error("invalid_token") in response.content.decode()
    assert client.get(INDEX).status_code == 302


@two_factor
def test_a_session_signed_in_with_the_password_only_is_sent_to_the_login_page(client, support_agent, device):
    client.force_login(support_agent)  # what a password-only sign-in leaves in the session
    for url in (INDEX, SUBJECTS):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(LOGIN)
    # Verified by the device in this session: in.
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    assert client.get(SUBJECTS).status_code == 200


@two_factor
def test_another_users_device_is_no_use(client, support_agent, compliance_officer, device):
    officers = totp_device_enrol(username=compliance_officer.username)
    response = sign_in(client, support_agent, otp_device=officers.persistent_id, otp_token=code_of(officers))
    assert client.get(INDEX).status_code == 302
    assert response.status_code == 200


@two_factor
def test_staff_without_an_authenticator_are_told_to_ask_for_one(client, support_agent):
    response = sign_in(client, support_agent, otp_token="123456")
    assert error("device_required") in response.content.decode()
    assert client.get(INDEX).status_code == 302


@two_factor
def test_the_login_page_asks_for_the_code(client):
    page = client.get(LOGIN).content.decode()
    assert 'name="otp_token"' in page
    assert 'autocomplete="one-time-code"' in page
    assert 'id="two-factor-off"' not in page


def test_the_demo_and_test_login_page_says_two_factor_is_off(client):
    page = client.get(LOGIN).content.decode()
    assert 'name="otp_token"' not in page
    assert 'id="two-factor-off"' in page


# Enrolment: an operator runs `manage.py enrol_totp USERNAME` and hands over what it prints.


@two_factor
def test_enrol_totp_prints_a_secret_that_signs_the_staff_member_in(client, support_agent, capsys):
    call_command("enrol_totp", support_agent.username)
    out = capsys.readouterr().out
    uri = next(line.split(maxsplit=1)[1] for line in out.splitlines() if line.startswith("URI:"))
    secret = next(line.split(maxsplit=1)[1] for line in out.splitlines() if line.startswith("Secret:"))
    assert uri.startswith(f"otpauth://totp/ShipEx%20privacy%20back%20office%3A{support_agent.username}?")
    assert "issuer=ShipEx%20privacy%20back%20office" in uri
    # What the staff member's app computes from the typed-in secret.
    key = b32decode(secret.replace(" ", ""))
    assert key == TOTPDevice.objects.get(user=support_agent).bin_key
    assert sign_in(client, support_agent, otp_token=f"{totp(key):06d}")["Location"] == INDEX


def test_enrol_totp_keeps_an_existing_authenticator_unless_told_to_replace_it(support_agent, device):
    with pytest.raises(CommandError, match="already has an authenticator"):
        call_command("enrol_totp", support_agent.username)
    call_command("enrol_totp", support_agent.username, "--replace")
    assert list(TOTPDevice.objects.filter(user=support_agent)) != [device]
    assert TOTPDevice.objects.filter(user=support_agent).count() == 1


@pytest.mark.parametrize("username", ["nobody", "former"])
def test_enrol_totp_is_only_for_active_staff(username):
    StaffFactory(username="former", is_active=False)
    with pytest.raises(CommandError, match="No active staff account"):
        call_command("enrol_totp", username)
