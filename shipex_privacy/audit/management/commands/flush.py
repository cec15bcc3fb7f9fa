"""Django's ``flush``, made safe for append-only history.

``flush`` deletes every row of every table, history included, so it is refused unless the
settings allow the guards to be lifted. Only the test settings do: the test runner flushes the
database between live-server tests. The guards are put back in the same command, so a test
never runs without them; production settings pin AUDIT_GUARDS_REMOVABLE to False.
"""

from django.conf import settings
from django.core.management import CommandError
from django.core.management.commands import flush
from django.db import connections

from shipex_privacy.audit.guards import install_append_only_guards, remove_append_only_guards


class Command(flush.Command):
    def handle(self, **options):
        if not settings.AUDIT_GUARDS_REMOVABLE:
            raise CommandError(
                "flush is refused: it would delete history and access logs, which are append-only."
            )
        connection = connections[options["database"]]
        remove_append_only_guards(connection)
        try:
            return super().handle(**options)
        finally:
            install_append_only_guards(connection)
