"""Import a CSV of consent grants and withdrawals exported by the ShipEx app (all rows or none)."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import BaseCommand, CommandError

from shipex_privacy.consents.services import IMPORT_COLUMNS, consent_import, import_file_lines


class Command(BaseCommand):
    help = f"Import consents from a UTF-8 CSV with the columns {', '.join(IMPORT_COLUMNS)}. All rows or none."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--actor", required=True, help="Username of the staff member importing the file.")

    def handle(self, *, path: Path, actor: str, **options):
        user = get_user_model().objects.filter(username=actor, is_active=True).first()
        if user is None:
            raise CommandError(f"No active staff member {actor!r}.")
        try:
            lines = import_file_lines(path.read_bytes())
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from exc
        except ValidationError as exc:
            raise CommandError(f"{path}: {' '.join(exc.messages)} Nothing was recorded.") from exc
        report = consent_import(lines=lines, actor=user)
        for line, message in report.errors:
            self.stderr.write(f"line {line}: {message}")
        if report.file_refused:
            raise CommandError("The file cannot be imported as it is; nothing was recorded.")
        if report.errors:
            raise CommandError(f"{len(report.errors)} row(s) refused; nothing was recorded.")
        self.stdout.write(self.style.SUCCESS(
            f"{report.rows} rows: {report.granted} grants and {report.withdrawn} withdrawals recorded."
        ))
