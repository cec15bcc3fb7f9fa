"""Check every history and access-log row against its keyed digest, and the seal chain; and the
records that must agree with that evidence: every frozen record (a sent disclosure with its
fields and subjects, a published policy) against its history, the consent state against the
consent ledger.

Reports each row changed, removed or inserted behind the application's back, by table and id,
and exits with status 1 if there is any. Streams each table in key order a fetch at a time
(server-side cursors on PostgreSQL), so memory stays flat; prints progress on long runs.
"""

import time

from django.core.management import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from shipex_privacy.audit.models import Seal
from shipex_privacy.audit.tamper import Finding, verification_failed, verify

PROGRESS_EVERY_SECONDS = 5


class Command(BaseCommand):
    help = ("Verify that no history or access-log row was changed, removed or inserted, and that frozen records "
            "and the consent state agree with their history and ledger (docs/audit.md).")

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)
        parser.add_argument("--batch-size", type=int, default=2000, help="Rows read per fetch (default 2000).")
        parser.add_argument(
            "--head", default="",
            help="The chain head MAC that seal_audit printed and you kept elsewhere; fail unless it is still there.",
        )

    def handle(self, *, database: str, batch_size: int, head: str, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        last_shown = [time.monotonic()]

        def progress(table: str, count: int, done: bool) -> None:
            now = time.monotonic()
            if done or now - last_shown[0] >= PROGRESS_EVERY_SECONDS:
                last_shown[0] = now
                self.stderr.write(f"  {table}: {count} checked{'' if done else ' …'}")

        report = verify(using=database, batch_size=batch_size, progress=progress)
        if head and not Seal.objects.using(database).filter(mac=head).exists():
            report.findings.append(Finding("audit_seal", 0, f"the chain head {head} you kept is no longer in the "
                                                            "chain"))
        for finding in report.findings:
            self.stdout.write(self.style.ERROR(str(finding)))
        problems = len(report.findings)
        self.stdout.write(
            f"{report.rows_checked} rows and {report.seals_checked} seals checked; "
            f"{report.unsealed_digests} digests not sealed yet"
            + (f"; {report.late_digests} committed after their range was sealed" if report.late_digests else "")
            + "."
        )
        if report.head_mac:
            self.stdout.write(f"Chain head: {report.head_mac}")
        if report.retired:
            self.stdout.write(f"{report.retired_rows} sealed rows retired by a retirement seal, not removed:")
            for retired in report.retired:
                self.stdout.write(f"  retired: {retired}")
        if problems:
            verification_failed.send(sender=Finding, report=report)  # e.g. the auditors' alert (notifications)
            raise CommandError(f"{problems} problem(s) found: the audit record was tampered with.")
        self.stdout.write(self.style.SUCCESS("The audit record verifies: nothing changed, removed or inserted."))
