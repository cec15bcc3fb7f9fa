"""Measure the subject search against plain Django admin search, in a scratch database.

The baseline is what Django's admin does out of the box with ``search_fields``: ``icontains``
on every field, OR-ed, which scans the table. Both run in the same process on the same data;
the result is reported as ratios, not as absolute promises.
"""

import statistics
import time
from collections.abc import Callable

from django.contrib.admin import ModelAdmin, site
from django.core.management import BaseCommand, CommandError
from django.core.paginator import Paginator
from django.db import connection
from django.test import RequestFactory
from simple_history.utils import bulk_create_with_history

from shipex_privacy.core.identifiers import format_phone
from shipex_privacy.core.paginator import EstimatedCountPaginator
from shipex_privacy.subjects.models import DataSubject

BATCH = 5_000


class PlainSubjectAdmin(ModelAdmin):
    search_fields = ("account_id", "full_name", "phone", "email", "pinfl")


def median_ms(function: Callable[[], object], repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


class Command(BaseCommand):
    help = "Benchmark subject search and list counts against plain Django, in a scratch test database."

    def add_arguments(self, parser):
        parser.add_argument("--subjects", type=int, default=50_000)
        parser.add_argument("--repeat", type=int, default=15)

    def handle(self, *, subjects: int, repeat: int, **options):
        if subjects < 1_000 or repeat < 1:
            raise CommandError("Use at least 1000 subjects and one repetition.")
        try:
            from factory.random import reseed_random

            from tests.subjects.factories import DataSubjectFactory
        except ImportError as exc:
            raise CommandError(f"The benchmark needs the development packages: {exc}") from exc

        # A scratch database, never the real one: created here, destroyed at the end.
        original_name = connection.settings_dict["NAME"]
        connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
        try:
            reseed_random(547)
            self.fill(DataSubjectFactory, subjects)
            self.report(subjects, repeat)
        finally:
            connection.creation.destroy_test_db(original_name, verbosity=0)

    def fill(self, factory, subjects: int) -> None:
        for start in range(0, subjects, BATCH):
            batch = [factory.build(account_id=f"SX{5_000_000 + n}") for n in range(start, min(start + BATCH, subjects))]
            # History rows are written too, as in real life.
            bulk_create_with_history(batch, DataSubject, batch_size=BATCH, default_change_reason="Benchmark data")
            self.stdout.write(f"  {min(start + BATCH, subjects)}/{subjects} subjects")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {DataSubject._meta.db_table}")

    def report(self, subjects: int, repeat: int) -> None:
        sample = list(DataSubject.objects.order_by("?")[:3].values("phone", "email", "pinfl", "account_id"))
        terms = [format_phone(s["phone"]).removeprefix("+998 ") for s in sample]  # "90 123 45 67"
        terms += [s["email"].upper() for s in sample] + [s["pinfl"] for s in sample]
        plain = PlainSubjectAdmin(DataSubject, site)
        request = RequestFactory().get("/")

        def ours():
            return [len(DataSubject.objects.search(term)) for term in terms]

        def baseline():
            return [len(plain.get_search_results(request, DataSubject.objects.all(), term)[0]) for term in terms]

        rows = [
            ("search (9 terms)", median_ms(ours, repeat), median_ms(baseline, repeat),
             f"found {sum(ours())} vs {sum(baseline())}"),
            ("list count", median_ms(lambda: EstimatedCountPaginator(DataSubject.objects.all(), 50).count, repeat),
             median_ms(lambda: Paginator(DataSubject.objects.all(), 50).count, repeat), ""),
        ]
        self.stdout.write(f"\n{connection.vendor}, {subjects} subjects, median of {repeat} runs")
        self.stdout.write(f"{'':<18}{'ours ms':>10}{'plain ms':>10}{'plain/ours':>12}")
        for name, ours_ms, plain_ms, note in rows:
            self.stdout.write(f"{name:<18}{ours_ms:>10.2f}{plain_ms:>10.2f}{plain_ms / ours_ms:>11.1f}x  {note}")
