"""Retire one month of the access log as a whole, once it is past the log's retention rule.

PostgreSQL only (the log is partitioned by month there). In one transaction: a retirement seal
recording exactly which rows go and why, then the month's digests are deleted and its partition
detached and dropped (audit/partitions.py, docs/access-log.md). Refused, with nothing changed, for
a month not wholly past the rule, the current month, the DEFAULT partition, and on SQLite.
"""

import datetime

from django.contrib.auth import get_user_model
from django.core.management import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from shipex_privacy.audit.partitions import RetirementRefused, retire_access_log_month


def _month(value: str) -> datetime.date:
    try:
        return datetime.datetime.strptime(value, "%Y-%m").date()
    except ValueError as error:
        raise CommandError(f"{value!r} is not a month: give it as YYYY-MM, e.g. 2021-03.") from error


class Command(BaseCommand):
    help = "Retire one month of the access log (YYYY-MM) that is wholly past its retention rule."

    def add_arguments(self, parser):
        parser.add_argument("month", help="The month, as YYYY-MM.")
        parser.add_argument("--reason", required=True, help="Why, as it is recorded in the retirement seal.")
        parser.add_argument("--user", required=True, help="The staff member retiring it (username).")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *, month: str, reason: str, user: str, database: str, **options):
        staff = get_user_model()._default_manager.db_manager(database).filter(username=user, is_active=True).first()
        if staff is None:
            raise CommandError(f"No active staff member {user!r}.")
        try:
            retirement = retire_access_log_month(month=_month(month), reason=reason, user=staff, using=database)
        except RetirementRefused as refused:
            raise CommandError(" ".join(refused.messages)) from refused
        self.stdout.write(self.style.SUCCESS(
            f"Retired {retirement}: retirement seal #{retirement.pk}, digest chain {retirement.digests_chain}."))
