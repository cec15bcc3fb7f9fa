"""Django's ``flush``, made safe for append-only history.

``flush`` deletes every row of every table, history included, so it is refused unless the
settings allow the guards to be lifted *and* the database it is connected to is a test database
(core/testdb.py): only the test settings allow it, for the test runner, which flushes its own
``test_…`` (or in-memory) database between live-server tests. Pointed at a real database, even
with the test settings, it is refused before anything is touched. The guards (append-only and
frozen records) are put back in the same command, so a test never runs without them; production
settings pin AUDIT_GUARDS_REMOVABLE to False. With split database roles it runs as the owner,
the only role that may lift a guard.
"""

from django.conf import settings
from django.core.management import CommandError
from django.core.management.commands import flush
from django.db import connections

from shipex_privacy.audit.guards import install_append_only_guards, remove_append_only_guards
from shipex_privacy.core.dbroles import as_owner
from shipex_privacy.core.freeze import install_freeze_guards, remove_freeze_guards
from shipex_privacy.core.testdb import connected_database_name, is_test_connection


class Command(flush.Command):
    def handle(self, **options):
        if not settings.AUDIT_GUARDS_REMOVABLE:
            raise CommandError(
                "flush is refused: it would delete history and access logs, which are append-only."
            )
        connection = connections[options["database"]]
        if not is_test_connection(connection):
            raise CommandError(
                f"flush is refused: {connected_database_name(connection)!r} is not a test database "
                "(its name must start with test_), and flush would delete its history and access logs."
            )
        with as_owner(options["database"]) as owner:
            remove_append_only_guards(owner)
            remove_freeze_guards(owner)
            try:
                return super().handle(**options)
            finally:
                install_append_only_guards(owner)
                install_freeze_guards(owner)
