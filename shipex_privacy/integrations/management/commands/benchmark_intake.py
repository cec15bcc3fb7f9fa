"""Measure the intake paths against the one-at-a-time path and plain Django, in the same run, as ratios.

It runs in a scratch database of its own, ``<NAME>_bench`` on the server DATABASE_URL names,
created and migrated here and dropped at the end (``--keep`` keeps it): history is append-only
(the database refuses to delete it), so the rows a benchmark writes must never land in a real
database. Only PostgreSQL, the production database, is measured; ``--allow-sqlite`` runs a smoke
run on SQLite with a warning (figures from SQLite say nothing about production).

Benchmark subjects have account ids SX9000000001 and up.

Figures (issue 11): subject upserts ≥ 2,000/s and consent events ≥ 5,000/s through the batch path
with full history, each ≥ 20× the one-at-a-time path; GET /api/v1/subjects/{id}/consents median
≤ 10 ms at 1M subjects; memory flat while importing a large file.
"""

import json
import os
import random
import resource
import statistics
import tempfile
import time
import tracemalloc
from datetime import timedelta

from django.conf import settings
from django.core.management import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone
from django.utils.translation import gettext as _

from shipex_privacy.audit.events import ApiActor, AuditEvent, SystemActor
from shipex_privacy.audit.services import record_save
from shipex_privacy.benchmarks.database import scratch_database
from shipex_privacy.benchmarks.scratch import Loader
from shipex_privacy.catalogue.models import Purpose, System
from shipex_privacy.consents.models import Channel, Consent, PolicyVersion
from shipex_privacy.consents.services import Evidence, consent_grant, policy_publish
from shipex_privacy.integrations.events import apply_event_batch
from shipex_privacy.integrations.models import ApiClient, Scope
from shipex_privacy.integrations.services import api_client_create
from shipex_privacy.subjects.intake import SubjectRules, subject_from_payload
from shipex_privacy.subjects.management.commands.import_subjects import ImportSummary, import_subjects
from shipex_privacy.subjects.models import DataSubject
from shipex_privacy.subjects.services import subjects_upsert_many

FIRST_ACCOUNT = 9_000_000_001
ACTOR = ApiActor("benchmark")
REGIONS = ("Toshkent shahri", "Samarqand viloyati", "Fargʻona viloyati", "Buxoro viloyati")


def account_id(n: int) -> str:
    return f"SX{FIRST_ACCOUNT + n}"


def payload(n: int, name: str = "Aziza Karimova") -> dict:
    return {
        "account_id": account_id(n), "full_name": f"{name} {n}", "phone": f"+99890{n % 10_000_000:07d}",
        "email": f"user{n}@mail.uz", "preferred_language": "uz",
        "addresses": [{"kind": "home", "region": REGIONS[n % len(REGIONS)], "city": "Yunusobod tumani",
                       "street": f"Amir Temur koʻchasi {n % 200 + 1}", "postal_code": "100084"}],
    }


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else float("inf")


class Command(BaseCommand):
    help = _("Benchmark the intake (bulk subject upserts, consent events, the consents read, memory of an import) "
             "against the one-at-a-time path and plain Django, in a scratch database <NAME>_bench it creates "
             "and drops. PostgreSQL only.")

    def add_arguments(self, parser):
        parser.add_argument("--subjects", type=int, default=20_000,
                            help=_("Subjects written through the batch path (default 20000; the closing note: "
                                   "1000000)."))
        parser.add_argument("--one-by-one", type=int, default=200,
                            help=_("Subjects and consent events written one at a time (default 200)."))
        parser.add_argument("--events", type=int, default=20_000,
                            help=_("Consent events sent through the batch path (default 20000)."))
        parser.add_argument("--reads", type=int, default=1000, help=_("Consents reads timed (default 1000)."))
        parser.add_argument("--read-subjects", type=int, default=0,
                            help=_("Before the consents reads, fill the database with set-based SQL to this many "
                                   "subjects, two consents each (the closing note: 1000000; default 0: read "
                                   "among the subjects the run wrote)."))
        parser.add_argument("--import-lines", type=int, default=20_000,
                            help=_("Lines of the NDJSON file imported under tracemalloc (default 20000)."))
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--keep", action="store_true", help=_("Keep the scratch database afterwards."))
        parser.add_argument("--allow-sqlite", action="store_true",
                            help=_("Run on SQLite anyway (a smoke run; its figures mean nothing)."))

    def handle(self, *args, **options):
        for name in ("subjects", "one_by_one", "events", "reads", "import_lines", "batch_size"):
            if options[name] < 1:
                raise CommandError(_("--%(option)s must be at least 1.") % {"option": name.replace("_", "-")})
        if options["read_subjects"] < 0:
            raise CommandError(_("--read-subjects must not be negative."))
        with scratch_database(command="benchmark_intake", allow_sqlite=options["allow_sqlite"],
                              keep=options["keep"], say=self.stderr.write):
            self.run(**options)

    # --- the run --------------------------------------------------------------------------------------

    def say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def run(self, *, subjects, one_by_one, events, reads, import_lines, batch_size, read_subjects, **options):
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        settings.DEBUG = False  # DEBUG keeps every query in memory and slows each one: not production
        self.batch_size = batch_size
        self.next = 0
        self.say(f"PostgreSQL {connection.pg_version // 10000}" if connection.vendor == "postgresql"
                 else "SQLite (smoke run)")
        results = {}
        results["memory"] = self.measure_import_memory(import_lines)
        results["subjects"] = self.measure_subjects(subjects, one_by_one)
        results["events"] = self.measure_events(events, one_by_one)
        self.fill_for_reads(read_subjects)
        results["reads"] = self.measure_reads(reads)
        self.summary(results)

    def take(self, count: int) -> range:
        start = self.next
        self.next += count
        return range(start, start + count)

    def measure_import_memory(self, lines: int) -> dict:
        """Import a generated NDJSON file; Python's traced memory after 10% of it and at the end."""
        numbers = self.take(lines)
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "subjects.ndjson")
            with open(path, "wb") as file:
                for n in numbers:
                    file.write(json.dumps(payload(n), ensure_ascii=False).encode() + b"\n")
            samples = {}
            tenth = max(1, lines // 10)

            def sample(summary: ImportSummary) -> None:
                if "tenth" not in samples and summary.rows >= tenth:
                    samples["tenth"] = (tracemalloc.get_traced_memory(), maxrss_mib())
                    tracemalloc.reset_peak()

            tracemalloc.start()
            started = time.perf_counter()
            with open(path, "rb") as stream:
                summary = import_subjects(stream, fmt="ndjson", actor=SystemActor("benchmark"),
                                          reason="Benchmark import", batch_size=self.batch_size, on_batch=sample)
            seconds = time.perf_counter() - started
            end = tracemalloc.get_traced_memory(), maxrss_mib()
            tracemalloc.stop()
        (tenth_now, tenth_peak), tenth_rss = samples.get("tenth", ((0, 0), 0))
        (end_now, end_peak), end_rss = end
        result = {"lines": lines, "created": summary.created, "rate": rate(summary.created, seconds),
                  "traced_tenth_mib": tenth_now / 2**20, "traced_end_mib": end_now / 2**20,
                  "peak_to_tenth_mib": tenth_peak / 2**20, "peak_after_tenth_mib": end_peak / 2**20,
                  "rss_tenth_mib": tenth_rss, "rss_end_mib": end_rss}
        self.say(f"import {lines} lines (tracemalloc on): {result['rate']:.0f} subjects/s; traced memory "
                 f"{result['traced_tenth_mib']:.1f} MiB after 10% → {result['traced_end_mib']:.1f} MiB at 100%; "
                 f"peak {result['peak_to_tenth_mib']:.1f} MiB in the first 10%, {result['peak_after_tenth_mib']:.1f} "
                 f"MiB in the rest; max RSS {tenth_rss:.0f} → {end_rss:.0f} MiB")
        return result

    def measure_subjects(self, count: int, one_by_one: int) -> dict:
        rules = SubjectRules.load()
        # One at a time: the same payloads, validated the same way, each subject and address its own
        # record_save, one transaction per subject (as one PUT is).
        started = time.perf_counter()
        for n in self.take(one_by_one):
            with transaction.atomic():
                subject, addresses = subject_from_payload(payload(n), subject=None, partial=False, rules=rules)
                record_save(instance=subject, actor=ACTOR, reason="Benchmark", event=AuditEvent.SUBJECT_RECEIVED)
                for address in addresses:
                    address.subject = subject
                    record_save(instance=address, actor=ACTOR, reason="Benchmark",
                                event=AuditEvent.SUBJECT_RECEIVED)
        single = rate(one_by_one, time.perf_counter() - started)
        self.say(f"subjects one at a time: {one_by_one} in {one_by_one / single:.1f} s → {single:.0f}/s")

        numbers = list(self.take(count))
        started = time.perf_counter()
        created = self.upsert(numbers, "Aziza Karimova", "created")
        bulk = rate(created, time.perf_counter() - started)
        self.say(f"subjects through the batch path: {created} new in {created / bulk:.1f} s → {bulk:.0f}/s")

        sample = numbers[: max(1, min(count, 50_000))]
        started = time.perf_counter()
        updated = self.upsert(sample, "Aziza Rahimova", "updated")
        bulk_updates = rate(updated, time.perf_counter() - started)
        self.say(f"subjects updated through the batch path: {updated} in {updated / bulk_updates:.1f} s → "
                 f"{bulk_updates:.0f}/s")
        return {"single": single, "bulk": bulk, "bulk_updates": bulk_updates}

    def upsert(self, numbers: list[int], name: str, outcome: str) -> int:
        done = 0
        rules = SubjectRules.load()
        for start in range(0, len(numbers), self.batch_size):
            rows = [(account_id(n), payload(n, name)) for n in numbers[start:start + self.batch_size]]
            report = subjects_upsert_many(rows=rows, actor=ACTOR, reason="Benchmark", event=AuditEvent.IMPORTED,
                                          rules=rules)
            if report.count(outcome) != len(rows):
                raise CommandError(f"batch at {start}: {[(r.outcome, r.message) for r in report.refused[:3]]}")
            done += len(rows)
            self.stderr.write(f"\r{done}/{len(numbers)}", ending="")
        self.stderr.write("")
        return done

    # --- consent events ---------------------------------------------------------------------------------

    def consent_setup(self):
        version = PolicyVersion(version="bench.1", effective_date=timezone.localdate() - timedelta(days=30),
                                text_uz="Siyosat", text_ru="Политика", text_en="Policy")
        record_save(instance=version, actor=SystemActor("benchmark"), reason="Benchmark",
                    event=AuditEvent.POLICY_PUBLISHED)
        version = policy_publish(version=version, actor=SystemActor("benchmark"))
        purposes = list(Purpose.objects.filter(requires_consent=True).order_by("clause"))
        if not purposes:
            raise CommandError("The seeded catalogue has no purpose that rests on consent.")
        return version, purposes

    def measure_events(self, count: int, one_by_one: int) -> dict:
        version, purposes = self.consent_setup()
        subjects = list(DataSubject.objects.filter(account_id__startswith="SX9").order_by("pk")
                        .values_list("pk", "account_id"))
        pairs = [(subject, purpose) for purpose in purposes for subject in subjects]
        if len(pairs) < count + one_by_one:
            raise CommandError(f"{len(subjects)} subjects × {len(purposes)} purposes give {len(pairs)} consents; "
                               f"use more --subjects or fewer --events.")
        random.Random(11).shuffle(pairs)  # noqa: S311 (an order of test rows, not a secret)
        at = timezone.now() - timedelta(days=1)
        evidence = Evidence(channel=Channel.APP, ip_address="10.0.0.1", user_agent="ShipEx/5.0")

        started = time.perf_counter()
        for (subject_pk, _aid), purpose in pairs[:one_by_one]:
            consent_grant(subject=DataSubject(pk=subject_pk), purpose=purpose, occurred_at=at, evidence=evidence,
                          policy_version=version, actor=ACTOR)
        single = rate(one_by_one, time.perf_counter() - started)
        self.say(f"consent grants one at a time (consent_grant): {one_by_one} → {single:.0f}/s")

        batch = pairs[one_by_one:one_by_one + count]
        how = "POST /api/v1/events's apply_event_batch"
        client = self.api_client()
        started = time.perf_counter()
        for start in range(0, len(batch), 1000):
            sent = [{"event_id": f"bench-{start + i}", "type": "consent.granted", "occurred_at": at.isoformat(),
                     "account_id": aid, "purpose": purpose.clause, "channel": "app",
                     "policy_version": version.version,
                     "evidence": {"ip_address": "10.0.0.1", "user_agent": "ShipEx/5.0"}}
                    for i, ((_pk, aid), purpose) in enumerate(batch[start:start + 1000])]
            outcomes = apply_event_batch(client=client, events=sent, actor=ACTOR)
            refused = [o for o in outcomes if o.status != "applied"]
            if refused:
                raise CommandError(f"events refused: {refused[:3]}")
        bulk = rate(len(batch), time.perf_counter() - started)
        self.say(f"consent events through the batch path ({how}): {len(batch)} → {bulk:.0f}/s")
        return {"single": single, "bulk": bulk, "how": how}

    def api_client(self):
        client = ApiClient.objects.filter(name="benchmark").first()
        if client is None:
            system = System.objects.order_by("pk").first() or System.objects.create(
                code="bench", name="Benchmark", owner="Benchmark")
            self.secret = api_client_create(name="benchmark", system=system, actor=None, rate_limit=10**9,
                                            scopes=[Scope.EVENTS_WRITE, Scope.CONSENTS_READ]).secret
            client = ApiClient.objects.get(name="benchmark")
        return client

    # --- the consents read ---------------------------------------------------------------------------------

    def fill_for_reads(self, to: int) -> None:
        """Subjects with two consents each (the benchmark loader's set-based SQL) until there are ``to``."""
        missing = to - DataSubject.objects.count()
        if missing <= 0:
            return
        started = time.perf_counter()
        Loader(progress=self.stderr.write).grow(missing, consents_only=True)
        self.say(f"filled to {to} subjects with consents (set-based SQL) in {time.perf_counter() - started:.0f} s")

    def measure_reads(self, reads: int) -> dict:
        self.api_client()
        total, consents = DataSubject.objects.count(), Consent.objects.count()
        # Among all subjects, the loader's too: a read at 1M subjects is a read of any of them.
        ids = list(DataSubject.objects.values_list("account_id", flat=True).order_by("?")[:reads])
        http = Client()
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.secret}"}
        http.get(f"/api/v1/subjects/{ids[0]}/consents", **headers)  # warm: the first request loads URLconf etc.
        api, round_trip, plain = [], [], []
        for aid in ids:
            started = time.perf_counter()
            response = http.get(f"/api/v1/subjects/{aid}/consents", **headers)
            round_trip.append((time.perf_counter() - started) * 1000)
            # Server time: what the server itself says it spent (api/middleware.py), every middleware included.
            api.append(float(response["Server-Timing"].partition(";dur=")[2]))
            if response.status_code != 200:
                raise CommandError(f"GET consents answered {response.status_code}: {response.content[:300]!r}")
            started = time.perf_counter()
            list(Consent.objects.filter(subject__account_id=aid).values("purpose_id", "recipient_kind", "state",
                                                                        "expires_at"))
            plain.append((time.perf_counter() - started) * 1000)
        result = {"subjects": total, "consents": consents, "api_ms": statistics.median(api),
                  "api_p95_ms": percentile(api, 95), "round_trip_ms": statistics.median(round_trip),
                  "plain_ms": statistics.median(plain)}
        self.say(f"GET …/consents at {total} subjects ({consents} consents): server time median "
                 f"{result['api_ms']:.2f} ms (p95 "
                 f"{result['api_p95_ms']:.2f}; token check, access log, view, every middleware); with the test "
                 f"client's own work {result['round_trip_ms']:.2f} ms; one plain Django query: "
                 f"{result['plain_ms']:.2f} ms")
        return result

    def summary(self, results) -> None:
        subjects, events, reads, memory = results["subjects"], results["events"], results["reads"], results["memory"]

        def verdict(ok: bool) -> str:
            return "ok" if ok else "MISSED"

        self.say("")
        self.say("target                                  measured                         ratio     ")
        self.say(f"subject upserts ≥ 2000/s, ≥ 20×          {subjects['bulk']:8.0f}/s (one by one "
                 f"{subjects['single']:.0f}/s)   {subjects['bulk'] / subjects['single']:6.1f}×  "
                 f"{verdict(subjects['bulk'] >= 2000 and subjects['bulk'] >= 20 * subjects['single'])}")
        self.say(f"consent events ≥ 5000/s, ≥ 20×           {events['bulk']:8.0f}/s (one by one "
                 f"{events['single']:.0f}/s)   {events['bulk'] / events['single']:6.1f}×  "
                 f"{verdict(events['bulk'] >= 5000 and events['bulk'] >= 20 * events['single'])}")
        self.say(f"GET consents median ≤ 10 ms              {reads['api_ms']:8.2f} ms at {reads['subjects']} "
                 f"subjects   {reads['api_ms'] / reads['plain_ms']:6.1f}× one plain query  "
                 f"{verdict(reads['api_ms'] <= 10)}")
        growth = memory["traced_end_mib"] - memory["traced_tenth_mib"]
        self.say(f"memory flat over an import               {memory['traced_tenth_mib']:.1f} → "
                 f"{memory['traced_end_mib']:.1f} MiB traced ({memory['lines']} lines)  "
                 f"{verdict(growth < 5)}")


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def percentile(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, len(ordered) * pct // 100)]

