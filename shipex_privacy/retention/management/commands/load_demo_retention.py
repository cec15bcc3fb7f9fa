"""A recorded retention run over the demo data, as the nightly job leaves one (development only).

Run after load_demo_requests: the accounts it closed three years ago and more are anonymised (the
one under a legal hold is counted as held), those closing within 30 days stay for the retention page.
"""

from django.conf import settings
from django.core.management import BaseCommand, CommandError

from shipex_privacy.retention.models import RetentionRun
from shipex_privacy.retention.services import retention_apply

from .apply_retention import SCHEDULER


class Command(BaseCommand):
    help = "Record one retention run over the demo data, as the nightly job would (development only)."

    def handle(self, **options):
        if not settings.DEBUG:
            raise CommandError("load_demo_retention runs only with DEBUG on.")
        if RetentionRun.objects.exists():
            self.stdout.write("A retention run is already recorded; none added.")
            return
        # Outside any transaction: the run commits record by record, as the scheduled job does.
        run = retention_apply(dry_run=False, started_by=SCHEDULER)
        counts = run.counts.all()
        self.stdout.write(self.style.SUCCESS(
            f"Demo retention run #{run.pk} ({run.get_status_display()}): "
            f"{sum(count.deleted + count.anonymised for count in counts)} records deleted or anonymised, "
            f"{sum(count.held for count in counts)} held."
        ))
