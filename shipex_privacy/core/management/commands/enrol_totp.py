"""Give a staff member an authenticator (TOTP) secret for two-factor sign-in, and print it once."""

from base64 import b32encode

from django.core.management import BaseCommand, CommandError

from shipex_privacy.core.login import totp_device_enrol


class Command(BaseCommand):
    help = (
        "Enrol a staff member's authenticator app for two-factor sign-in: prints the otpauth:// URI "
        "(turn it into a QR code on a trusted machine) and the secret for typing in by hand. Hand them "
        "to the staff member in person; anyone holding the secret can produce their codes."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--replace", action="store_true",
            help="Retire the staff member's current authenticator (lost or changed phone) and issue a new secret.",
        )

    def handle(self, *, username: str, replace: bool, **options):
        try:
            device = totp_device_enrol(username=username, replace=replace)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        secret = b32encode(device.bin_key).decode()
        self.stdout.write(f"Authenticator enrolled for {username}. Shown once; do not keep it.")
        self.stdout.write(f"URI:    {device.config_url}")
        self.stdout.write(f"Secret: {' '.join(secret[i:i + 4] for i in range(0, len(secret), 4))}")
        self.stdout.write("The staff member signs in with password and the six-digit code their app shows.")
