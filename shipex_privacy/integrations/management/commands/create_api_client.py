"""``manage.py create_api_client NAME --system CODE --scopes a,b [--rate-limit N] [--as USERNAME]``.

Prints the token, and only the token, on stdout (``TOKEN=$(manage.py create_api_client …)``); what
happened goes to stderr. The token is shown this once: only its hash is kept.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from shipex_privacy.audit.events import SystemActor
from shipex_privacy.catalogue.models import System
from shipex_privacy.integrations.models import ApiClient
from shipex_privacy.integrations.services import api_client_create, parse_scopes

OPERATOR = SystemActor("operator")


def add_actor_argument(parser) -> None:
    parser.add_argument("--as", dest="username",
                        help="Staff member named in history as the actor (default: system:operator).")


def resolve_actor(username: str | None, permission: str):
    """The staff member ``--as`` names, who must hold ``permission``; system:operator without it."""
    if not username:
        return OPERATOR
    user = get_user_model().objects.filter(username=username, is_active=True, is_staff=True).first()
    if user is None:
        raise CommandError(_("No active staff member %(username)r.") % {"username": username})
    if not user.has_perm(permission):
        raise CommandError(_("%(username)s may not do this (needs %(permission)s).") % {
            "username": username, "permission": permission})
    return user


def find_client(name: str) -> ApiClient:
    client = ApiClient.objects.select_related("system").filter(name=name).first()
    if client is None:
        raise CommandError(_("There is no API client named %(name)r.") % {"name": name})
    return client


def refusal(error: ValidationError) -> CommandError:
    if hasattr(error, "error_dict"):
        return CommandError(" ".join(f"{field}: {' '.join(messages)}" if field != "__all__" else " ".join(messages)
                                     for field, messages in error.message_dict.items()))
    return CommandError(" ".join(error.messages))


class Command(BaseCommand):
    help = ("Create an API client for a ShipEx system and print its first token (stdout, once). "
            "Scopes: subjects:write, events:write, requests:write, requests:read, consents:read.")

    def add_arguments(self, parser):
        parser.add_argument("name", help="The client's name (a slug); history calls it api:<name>.")
        parser.add_argument("--system", required=True, help="Code of the catalogue system, e.g. shipex-app.")
        parser.add_argument("--scopes", required=True, help="Comma-separated scopes, e.g. subjects:write,events:write.")
        parser.add_argument("--rate-limit", type=int, default=600, help="Calls per minute (default 600).")
        parser.add_argument("--note", default="", help="A note for the compliance team.")
        add_actor_argument(parser)

    def handle(self, *, name, system, scopes, rate_limit, note, username, **options):
        actor = resolve_actor(username, "integrations.add_apiclient")
        found = System.objects.filter(code=system).first()
        if found is None:
            known = ", ".join(System.objects.order_by("code").values_list("code", flat=True))
            raise CommandError(_("There is no system with the code %(code)r. Systems: %(known)s.") % {
                "code": system, "known": known})
        try:
            scope_list = parse_scopes(scopes)
            if not scope_list:
                raise CommandError(_("Give at least one scope."))
            issued = api_client_create(name=name, system=found, scopes=scope_list, actor=actor,
                                       rate_limit=rate_limit, note=note)
        except ValidationError as error:
            raise refusal(error) from error
        client = issued.token.client
        self.stderr.write(_("API client %(name)s created for %(system)s with %(scopes)s, %(limit)s calls a minute. "
                            "The token below is shown only this once.") % {
            "name": client.name, "system": found.code, "scopes": ", ".join(client.scopes), "limit": client.rate_limit})
        self.stdout.write(issued.secret)
