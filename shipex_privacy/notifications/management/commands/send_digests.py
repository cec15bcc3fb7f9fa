"""Send today's morning digests now (the scheduler does this each morning). A second run the same
day sends nothing twice: only the mails that have not gone out yet (or failed) are sent."""

from django.core.management import BaseCommand

from shipex_privacy.notifications.services import send_morning_digests


class Command(BaseCommand):
    help = "Send each staff member's morning digest of the day, once a day (e-mail settings: README)."

    def handle(self, **options):
        summary = send_morning_digests()
        self.stdout.write(f"Morning digests {summary}.")
        if summary.failed:
            self.stderr.write(self.style.WARNING(f"{summary.failed} could not be sent; run again to retry them."))
