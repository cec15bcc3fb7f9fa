"""``manage.py rotate_api_client NAME --overlap-hours N [--as USERNAME]``: prints the new token (stdout, once);
the client's current tokens keep working for N hours, then stop."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from shipex_privacy.integrations.services import api_token_rotate

from .create_api_client import add_actor_argument, find_client, refusal, resolve_actor

MAX_OVERLAP_HOURS = 24 * 30


class Command(BaseCommand):
    help = "Issue a new token for an API client and print it; the old tokens work for the overlap, then stop."

    def add_arguments(self, parser):
        parser.add_argument("name", help="The client's name.")
        parser.add_argument("--overlap-hours", type=int, required=True,
                            help="Hours the current tokens keep working beside the new one (0: they stop now).")
        add_actor_argument(parser)

    def handle(self, *, name, overlap_hours, username, **options):
        if not 0 <= overlap_hours <= MAX_OVERLAP_HOURS:
            raise CommandError(_("The overlap is 0 to %(max)s hours.") % {"max": MAX_OVERLAP_HOURS})
        actor = resolve_actor(username, "integrations.change_apiclient")
        client = find_client(name)
        overlap = timedelta(hours=overlap_hours)
        try:
            issued = api_token_rotate(client=client, overlap=overlap, actor=actor)
        except ValidationError as error:
            raise refusal(error) from error
        until = f"{timezone.localtime(timezone.now() + overlap):%d.%m.%Y %H:%M}"
        self.stderr.write(_("New token for %(name)s; the old tokens work until %(until)s. The token below is shown "
                            "only this once.") % {"name": client.name, "until": until})
        self.stdout.write(issued.secret)
