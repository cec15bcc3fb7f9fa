#!/usr/bin/env python
"""Django's command-line utility for the ShipEx privacy back office."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    from django.core.management import execute_from_command_line
    from django.db.utils import OperationalError

    try:
        execute_from_command_line(sys.argv)
    except OperationalError as exc:
        # A database that cannot be reached deserves one line, not a traceback.
        from django.db import connection

        sys.exit(f"Database error ({connection.vendor}, DATABASE_URL): {str(exc).strip().splitlines()[0]}")


if __name__ == "__main__":
    main()
