"""Seal the digests written since the last seal, in batches; each seal's MAC covers the one before.

Run it every few minutes (cron, systemd timer). A digest written less than ``--settle-seconds``
ago waits for the next run, so that a transaction still open is never skipped over.
"""

import datetime

from django.core.management import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, IntegrityError
from django.utils import timezone

from shipex_privacy.audit.tamper import seal_next


class Command(BaseCommand):
    help = "Seal new history and access-log digests into the audit seal chain (docs/audit.md)."

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)
        parser.add_argument("--batch-size", type=int, default=10_000, help="Digests per seal (default 10000).")
        parser.add_argument(
            "--settle-seconds", type=int, default=300,
            help="Leave digests younger than this for the next run (default 300).",
        )

    def handle(self, *, database: str, batch_size: int, settle_seconds: int, **options):
        if batch_size < 1 or settle_seconds < 0:
            raise CommandError("--batch-size must be at least 1 and --settle-seconds at least 0.")
        settled_before = timezone.now() - datetime.timedelta(seconds=settle_seconds)
        seals = digests = 0
        head = None
        while True:
            try:
                seal = seal_next(using=database, batch_size=batch_size, settled_before=settled_before)
            except IntegrityError as error:
                raise CommandError(
                    f"Another seal_audit extended the chain at the same time; run again. ({error})"
                ) from error
            if seal is None:
                break
            seals, digests, head = seals + 1, digests + seal.digest_count, seal
            self.stdout.write(f"  seal #{seal.pk}: digests {seal.first_digest_id}–{seal.last_digest_id}")
        if head is None:
            self.stdout.write("Nothing to seal.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Sealed {digests} digests in {seals} seals."))
            # Keep this line outside the database (log shipping, ticket): it proves the newest seal.
            self.stdout.write(f"Chain head: seal #{head.pk} {head.mac}")
