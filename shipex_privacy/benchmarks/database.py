"""The scratch database every benchmark command measures in: ``<NAME>_bench``, never a real one.

History is append-only (the database refuses to delete it), so no row a benchmark writes may land
in a real database: the benchmark creates and migrates its own, hands it to the measuring code and
drops it at the end (``keep`` keeps it). It does so as the owner role, as migrate runs
(docs/database-roles.md): the app role may not create databases.
"""

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.core.management import CommandError
from django.db import connection
from django.utils.translation import gettext as _

from shipex_privacy.core.dbroles import as_owner


@contextmanager
def scratch_database(*, command: str, allow_sqlite: bool, keep: bool, say: Callable[[str], None]) -> Iterator[str]:
    """Run the block in a freshly migrated ``<NAME>_bench`` on the server DATABASE_URL names; its name."""
    if connection.vendor != "postgresql":
        if not allow_sqlite:
            raise CommandError(_("%(command)s measures PostgreSQL, the production database; DATABASE_URL names "
                                 "%(vendor)s. Set DATABASE_URL=postgres://… (it creates its own scratch database "
                                 "there), or pass --allow-sqlite for a smoke run.")
                               % {"command": command, "vendor": connection.vendor})
        say(_("Warning: SQLite — a smoke run, the figures say nothing about production."))
    with as_owner():
        original = connection.settings_dict["NAME"]
        scratch, kept = f"{original}_bench", None
        if connection.vendor == "sqlite" and connection.is_in_memory_db():
            # An in-memory database (a test run's) is never closed by Django and lives only while its
            # connection does: put that connection aside, so the scratch file gets a connection of its own.
            scratch, kept = f"{tempfile.mkdtemp()}/db_bench", connection.connection
            connection.connection = None
        connection.settings_dict.setdefault("TEST", {})["NAME"] = scratch
        say(_("Creating and migrating the scratch database %(name)s …") % {"name": scratch})
        connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False, serialize=False)
        try:
            yield scratch
        finally:
            if keep:
                say(_("Kept the scratch database %(name)s.") % {"name": connection.settings_dict["NAME"]})
            else:
                connection.creation.destroy_test_db(original, verbosity=0)
            if kept is not None:
                connection.close()
                connection.connection = kept
