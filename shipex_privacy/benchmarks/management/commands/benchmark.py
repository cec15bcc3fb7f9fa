"""``manage.py benchmark``: issue 15's pages and jobs against plain Django, at two sizes, in a scratch database.

It creates ``<NAME>_bench`` on the server DATABASE_URL names, migrates it, loads it with set-based
SQL (benchmarks/scratch.py), measures (benchmarks/measures.py), grows it to the next size and
measures again, prints one table and drops the database (``--keep`` keeps it). History is
append-only — the database refuses to delete it — so no row a benchmark writes may land in a
real database. PostgreSQL is what is measured; ``--allow-sqlite`` makes a smoke run.
"""

import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import BaseCommand, CommandError
from django.db import connection
from django.test.utils import override_settings
from django.utils.translation import gettext as _

from shipex_privacy.benchmarks import report
from shipex_privacy.benchmarks.database import scratch_database
from shipex_privacy.benchmarks.measures import Bench, consent_figures
from shipex_privacy.benchmarks.sample import write_audited_sample
from shipex_privacy.benchmarks.scratch import Loader

AUDIT_SAMPLE = 20_000


def sizes(text: str) -> list[int]:
    try:
        values = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError as error:
        raise CommandError(_("--sizes takes subject counts separated by commas, e.g. 100000,1000000.")) from error
    if not values or values != sorted(set(values)) or values[0] < 100:
        raise CommandError(_("--sizes must grow, from at least 100 subjects (e.g. 100000,1000000)."))
    return values


class Command(BaseCommand):
    help = _("Measure the subject searches, the consent report, the requests dashboard, RoPA, the request queue, "
             "subjects by status, the subject page, verify_audit and apply_retention against plain Django, at one "
             "or more sizes, in a scratch database <NAME>_bench it creates and drops; prints one table.")

    def add_arguments(self, parser):
        parser.add_argument("--subjects", type=int, default=100_000,
                            help=_("Subjects of a one-size run (default 100000)."))
        parser.add_argument("--sizes", default="",
                            help=_("Sizes to grow the same database through, e.g. 100000,1000000 (overrides "
                                   "--subjects)."))
        parser.add_argument("--repeat", type=int, default=7, help=_("Interleaved runs per measure (default 7)."))
        parser.add_argument("--budget", type=float, default=30.0,
                            help=_("Seconds a measure may take before it stops repeating (default 30)."))
        # 20000 subjects give ~80k digested rows: at 5000 (~21k rows) verify's fixed costs (the seal
        # chain, every audited table looked at, the frozen-record and ledger checks) were ~40% of its
        # time, and the rate measured them more than the rows.
        parser.add_argument("--audit-sample", type=int, default=AUDIT_SAMPLE,
                            help=_("Subjects written through the audited bulk path, on which verify_audit is "
                                   "measured (default %(count)s).") % {"count": AUDIT_SAMPLE})
        parser.add_argument("--keep", action="store_true", help=_("Keep the scratch database afterwards."))
        parser.add_argument("--allow-sqlite", action="store_true",
                            help=_("Run on SQLite anyway (a smoke run; its figures mean nothing)."))

    def handle(self, *args, **options):
        steps = sizes(options["sizes"]) if options["sizes"] else sizes(str(options["subjects"]))
        if options["repeat"] < 1 or options["audit_sample"] < 1 or options["budget"] <= 0:
            raise CommandError(_("--repeat, --audit-sample and --budget must be positive."))
        with scratch_database(command="benchmark", allow_sqlite=options["allow_sqlite"], keep=options["keep"],
                              say=self.stderr.write), \
                override_settings(DEBUG=False, ROOT_URLCONF="shipex_privacy.benchmarks.urls",
                                  ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"],
                                  # The in-process client signs in with force_login; a TOTP step would
                                  # only add a redirect, and this is a scratch database.
                                  SHIPEX_TWO_FACTOR_REQUIRED=False):
            results = self.run(steps, **options)
        self.stdout.write(report.table(results, vendor=connection.vendor, repeat=options["repeat"]))

    def say(self, text: str) -> None:
        self.stderr.write(f"[{time.monotonic() - self.started:6.0f} s] {text}")
        self.stderr.flush()

    def run(self, steps: list[int], *, repeat: int, budget: float, audit_sample: int, **options):
        self.started = time.monotonic()
        user = get_user_model().objects.create_superuser(username="bench", email="bench@shipex.uz", password=None)
        bench = Bench(repeat=repeat, budget=budget, user=user, progress=self.say)
        results = []
        self.say(_("Writing %(count)s subjects through the audited bulk path (for verify_audit) …")
                 % {"count": audit_sample})
        write_audited_sample(audit_sample)
        results.append(bench.verify_audit(steps[0], sample=audit_sample))
        loader = Loader(progress=self.say)
        for size in steps:
            before = len(loader.expired_subject_ids)
            loader.grow(size)
            self.say(_("Measuring at %(size)s subjects …") % {"size": size})
            results += bench.pages(size)
            results.append(consent_figures(bench, size))
            results.append(bench.retention(size, loader.expired_subject_ids[before:]))
        return results
