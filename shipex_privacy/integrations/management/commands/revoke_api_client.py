"""``manage.py revoke_api_client NAME [--reason …] [--as USERNAME]``: every token of the client stops now."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from shipex_privacy.integrations.services import api_client_revoke

from .create_api_client import add_actor_argument, find_client, refusal, resolve_actor


class Command(BaseCommand):
    help = "Revoke an API client: all its tokens stop working at once."

    def add_arguments(self, parser):
        parser.add_argument("name", help="The client's name.")
        parser.add_argument("--reason", default="", help="Why, for the history (default: revoked by the operator).")
        add_actor_argument(parser)

    def handle(self, *, name, reason, username, **options):
        actor = resolve_actor(username, "integrations.change_apiclient")
        client = find_client(name)
        try:
            api_client_revoke(client=client, actor=actor,
                              reason=reason.strip() or _("Revoked by the operator (manage.py revoke_api_client)"))
        except ValidationError as error:
            raise refusal(error) from error
        self.stderr.write(_("API client %(name)s revoked; its tokens no longer work.") % {"name": client.name})
