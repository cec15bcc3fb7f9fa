"""Record the lapse of every consent whose term has ended (run on a schedule; safe to run again)."""

from django.core.management import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from shipex_privacy.consents.services import LAPSE_BATCH, consents_lapse_due


class Command(BaseCommand):
    help = ("Record a lapse in the consent ledger for every consent whose term has ended. Idempotent: "
            "a consent lapses once, however often this runs.")

    def add_arguments(self, parser):
        parser.add_argument("--now", help="Lapse what is due at this ISO 8601 moment with its offset (default: now).")
        parser.add_argument("--batch-size", type=int, default=LAPSE_BATCH, help="Consents per transaction.")

    def handle(self, *, now: str | None, batch_size: int, **options):
        moment = None
        if now:
            try:
                moment = parse_datetime(now)
            except ValueError:  # well formed, but no such moment (month 13)
                moment = None
            if moment is None or moment.tzinfo is None:
                raise CommandError(f"--now {now!r} is not an ISO 8601 moment with its offset, "
                                   "e.g. 2026-12-01T00:00:00+05:00.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        lapsed = consents_lapse_due(now=moment, batch_size=batch_size)
        self.stdout.write(self.style.SUCCESS(f"{lapsed} consent(s) lapsed at the end of their term."))
