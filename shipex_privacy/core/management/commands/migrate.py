"""Django's ``migrate``, run as the owner role when DATABASE_OWNER_URL is set.

The back office itself connects as an app role that owns nothing (docs/database-roles.md); only
migrations, and the guards and grants installed after them (post_migrate), need the owner.
"""

from django.core.management.commands import migrate

from shipex_privacy.core.dbroles import as_owner


class Command(migrate.Command):
    def handle(self, *args, **options):
        with as_owner(options["database"]):
            return super().handle(*args, **options)
