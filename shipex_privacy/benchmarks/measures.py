"""What ``manage.py benchmark`` measures: each page or job of issue 15 against a plain-Django baseline.

Every measure runs ours and the baseline in the same process, on the same data, interleaved
(ours, baseline, baseline, ours, …) and reports medians. Pages are fetched whole through
``django.test.Client`` (every middleware, the template rendered), logged in as a superuser of the
scratch database; the stock pages are the same models on a stock ``AdminSite`` (plain.py). Where
there is no stock page (consent report, requests dashboard, RoPA) the baseline is the same
figures computed the naive way with the ORM, without rendering, so those ratios understate ours.

Ratios always say how many times better ours is: baseline ÷ ours for times and query counts,
ours ÷ baseline for rates. Growth says how many times worse ours got from the first size to the
last (time ÷ time, or rate ÷ rate inverted); 1.0 is flat.
"""

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.paginator import Paginator
from django.db import connection, transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from shipex_privacy.audit import tamper
from shipex_privacy.audit.events import AuditEvent, SystemActor
from shipex_privacy.audit.services import record_delete, record_save
from shipex_privacy.catalogue.models import PersonalDataField, Purpose
from shipex_privacy.consents.models import Consent
from shipex_privacy.core.identifiers import format_phone
from shipex_privacy.core.paginator import EstimatedCountPaginator
from shipex_privacy.disclosures.models import Disclosure
from shipex_privacy.rights_requests.models import SubjectRequest
from shipex_privacy.subjects.models import DataSubject

from . import plain

ACTOR = SystemActor("benchmark")
# A name no bulk subject has, written for a few subjects through the audited path, then searched
# as staff type it: apostrophes other than the stored ʻ, Cyrillic, first name first.
RARE_NAME = "Xudoyberdiyeva Oʻgʻiloy Rustamovna"
RARE_ACCOUNTS = [f"SX{7_000_000_001 + n}" for n in range(3)]
NAMES_COMMON = "Aziza"  # scratch.NAMES: the first name of one bulk subject in eight


def write_rare_names() -> int:
    """The subjects named RARE_NAME (written once per scratch database); how many there are."""
    for account_id in RARE_ACCOUNTS:
        if not DataSubject.objects.filter(account_id=account_id).exists():
            record_save(instance=DataSubject(account_id=account_id, full_name=RARE_NAME,
                                             phone=f"+99897{account_id[-7:]}"),
                        actor=ACTOR, reason="Benchmark: subjects to find by name", event=AuditEvent.IMPORTED)
    return len(RARE_ACCOUNTS)


@dataclass(frozen=True)
class Target:
    """A goal of issue 15: ``ours`` at most (or at least) ``value``; ``flat``: growth ≤ 1.5×."""

    value: float | None = None
    at_least: bool = False
    flat: bool = True

    def text(self, unit: str) -> str:
        parts = []
        if self.value is not None:
            parts.append(f"{'≥' if self.at_least else '≤'} {self.value:g} {unit}")
        if self.flat:
            parts.append("flat")
        return ", ".join(parts) or "—"

    def met(self, ours: float) -> bool:
        if self.value is None:
            return True
        return ours >= self.value if self.at_least else ours <= self.value


@dataclass
class Result:
    measure: str
    size: int
    ours: float
    baseline: float | None
    unit: str  # "ms", "queries", "rows/s", "records/s"
    target: Target = field(default_factory=Target)
    note: str = ""

    @property
    def higher_is_better(self) -> bool:
        return self.unit.endswith("/s")

    @property
    def ratio(self) -> float | None:
        if not self.baseline or not self.ours:
            return None
        return self.ours / self.baseline if self.higher_is_better else self.baseline / self.ours


def interleaved(ours: Callable, baseline: Callable | None, *, repeat: int, budget: float,
                warm: bool = True) -> tuple[float, float | None, int]:
    """Median milliseconds of ``ours`` and ``baseline``, run alternately; stops early past ``budget`` seconds,
    the warm-up run included (each side is timed at least once). Returns (ours, baseline, runs)."""
    started = time.perf_counter()
    if warm:  # the first request of a page loads templates and URLconfs; the naive functions need none
        ours()
        if baseline is not None:
            baseline()
    timings: dict[str, list[float]] = {"ours": [], "baseline": []}
    sides = [("ours", ours), ("baseline", baseline)]
    for run in range(repeat):
        for name, function in sides if run % 2 == 0 else reversed(sides):
            if function is None:
                continue
            began = time.perf_counter()
            function()
            timings[name].append((time.perf_counter() - began) * 1000)
        if time.perf_counter() - started > budget:
            break
    return (statistics.median(timings["ours"]),
            statistics.median(timings["baseline"]) if timings["baseline"] else None, len(timings["ours"]))


def count_queries(function: Callable) -> int:
    with CaptureQueriesContext(connection) as captured:
        function()
    return len(captured)


class Bench:
    """The measures, run at one size of the scratch database."""

    def __init__(self, *, repeat: int, budget: float, user, progress: Callable[[str], None]):
        self.repeat, self.budget, self.progress = repeat, budget, progress
        self.user = user
        self.client = Client()
        self.client.force_login(user)

    def page(self, url: str) -> Callable[[], object]:
        def get():
            response = self.client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"GET {url} answered {response.status_code}: {response.content[:300]!r}")
            return response
        return get

    def compare(self, name: str, size: int, ours, baseline, *, target: Target, warm: bool = True,
                note: str = "") -> Result:
        self.progress(f"  {name} …")
        ours_ms, baseline_ms, runs = interleaved(ours, baseline, repeat=self.repeat, budget=self.budget, warm=warm)
        # Queries of one more run: ours always, the baseline where it is a page (a naive job may take minutes).
        counted = [count_queries(ours), count_queries(baseline) if warm and baseline is not None else None]
        queries = f"{counted[0]} {'query' if counted[0] == 1 else 'queries'}" + (
            f" vs {counted[1]}" if counted[1] is not None else "")
        note = ", ".join(filter(None, [queries, note, f"{runs} runs (time budget)" if runs < self.repeat else ""]))
        return Result(name, size, ours_ms, baseline_ms, "ms", target, note)

    # --- the pages ------------------------------------------------------------------------------------

    def pages(self, size: int) -> list[Result]:
        results = self.searches(size)
        results.append(self.compare(
            "consent report", size, self.page(reverse("admin:consents_consent_report")), naive_consent_rates,
            target=Target(200), note="baseline: in_force_at() per month-end, unrendered", warm=False))
        results.append(self.compare(
            "requests dashboard", size, self.page(reverse("admin:rights_requests_subjectrequest_dashboard")),
            naive_dashboard, target=Target(50), note="baseline: counts and a median in Python, unrendered",
            warm=False))
        results.append(self.compare(
            "RoPA page", size, self.page(reverse("admin:disclosures_disclosure_ropa")), naive_ropa,
            target=Target(100), note="baseline: a query per row, unrendered", warm=False))
        results.append(self.compare(
            "request queue", size, self.page(reverse("admin:rights_requests_subjectrequest_changelist")),
            self.page(reverse("plain:rights_requests_subjectrequest_changelist")), target=Target(30),
            note="stock changelist, ordered by due_at, id"))
        status = "?status__exact=logged_out"
        results.append(self.compare(
            "subjects by status", size, self.page(reverse("admin:subjects_datasubject_changelist") + status),
            self.page(reverse("plain:subjects_datasubject_changelist") + status), target=Target(30),
            note="status logged_out (5 %); stock changelist"))
        results += self.change_page(size)
        return results

    def searches(self, size: int) -> list[Result]:
        sample = list(DataSubject.objects.filter(account_id__startswith="SX1").order_by("?")[:3]
                      .values("phone", "email", "pinfl"))
        terms = [format_phone(s["phone"]).removeprefix("+998 ") for s in sample]  # "90 123 45 67"
        terms += [s["email"].upper() for s in sample] + [s["pinfl"] for s in sample]
        stock = plain.PlainSubjectAdmin(DataSubject, plain.site)
        request = RequestFactory().get("/")
        found = {}

        def ours():
            found["ours"] = sum(len(DataSubject.objects.search(term)) for term in terms)

        def baseline():
            found["baseline"] = sum(len(stock.get_search_results(request, DataSubject.objects.all(), term)[0])
                                    for term in terms)

        search = self.compare(f"search ({len(terms)} terms)", size, ours, baseline, target=Target(),
                              note="stock: icontains on 5 fields", warm=False)
        search.note += f"; found {found['ours']} vs {found['baseline']}"

        rare = write_rare_names()
        names = [RARE_NAME, "xudoyberdiyeva o'g'iloy", "ХУДОЙБЕРДИЙЕВА Ў", "Oʻgʻiloy Xudoyb"]

        def ours_by_name():
            found["ours_names"] = sum(len(DataSubject.objects.search(term, by_name=True)) for term in names)

        def baseline_by_name():
            found["baseline_names"] = sum(
                len(stock.get_search_results(request, DataSubject.objects.all(), term)[0]) for term in names)

        by_name = self.compare(f"name search ({len(names)} terms)", size, ours_by_name, baseline_by_name,
                               target=Target(), warm=False,
                               note="prefix on the indexed name key; stock: icontains on 5 fields")
        by_name.note += (f"; found {found['ours_names']} vs {found['baseline_names']} of {len(names) * rare} "
                         "(stock misses other spellings)")
        common = "?q=" + NAMES_COMMON
        name_page = self.compare(
            "name search page", size, self.page(reverse("admin:subjects_datasubject_changelist") + common),
            self.page(reverse("plain:subjects_datasubject_changelist") + common), target=Target(30),
            note=f"q={NAMES_COMMON} (1 subject in 8); stock changelist")
        count = self.compare(
            "subject list count", size, lambda: EstimatedCountPaginator(DataSubject.objects.all(), 50).count,
            lambda: Paginator(DataSubject.objects.all(), 50).count, target=Target(), note="estimate vs COUNT(*)",
            warm=False)
        return [search, by_name, name_page, count]

    def change_page(self, size: int) -> list[Result]:
        subject = (DataSubject.objects.filter(account_id__startswith="SX1", status="active")
                   .annotate(n=Count("addresses")).filter(n__gte=2).order_by("-pk").first())
        ours = self.page(reverse("admin:subjects_datasubject_change", args=[subject.pk]))
        stock = self.page(reverse("plain:subjects_datasubject_change", args=[subject.pk]))
        timing = self.compare("subject change page", size, ours, stock, target=Target(),
                              note="stock: ModelAdmin with an address inline")
        return [timing, Result("subject change page queries", size, count_queries(ours), count_queries(stock),
                               "queries", Target(15), "")]

    # --- the jobs -------------------------------------------------------------------------------------

    def verify_audit(self, size: int, *, sample: int) -> Result:
        """verify_audit's rows/s over the digested rows of ``sample`` subjects, against a plain ORM read of
        the same rows."""
        self.progress("  verify_audit …")
        rows = {}

        def ours():
            report = tamper.verify()
            rows["ours"] = report.rows_checked
            rows["findings"] = len(report.findings)

        def baseline():
            rows["baseline"] = plain_read_digested()

        ours_ms, baseline_ms, _runs = interleaved(ours, baseline, repeat=self.repeat, budget=self.budget,
                                                  warm=False)
        note = f"{rows['ours']} digested rows ({sample} subjects written through the audited path)"
        if rows["findings"]:
            note += f"; {rows['findings']} findings"
        return Result("verify_audit", size, rows["ours"] / ours_ms * 1000, rows["baseline"] / baseline_ms * 1000,
                      "rows/s", Target(100_000, at_least=True, flat=False), note)

    def retention(self, size: int, expired_subject_ids: list[int]) -> Result:
        """apply_retention on the expired subjects of this size; the naive way on a few of them first."""
        from shipex_privacy.retention.services import retention_apply

        self.progress("  apply_retention …")
        naive_ids = expired_subject_ids[: max(1, min(50, len(expired_subject_ids) // 5))]
        started = time.perf_counter()
        naive = naive_erase(naive_ids)
        naive_rate = naive / (time.perf_counter() - started)
        started = time.perf_counter()
        run = retention_apply(dry_run=False, started_by="benchmark", batch_size=500)
        seconds = time.perf_counter() - started
        done = sum(count.deleted + count.anonymised for count in run.counts.all())
        note = (f"{done} records of {len(expired_subject_ids) - len(naive_ids)} expired subjects in {seconds:.1f} s, "
                f"one run; naive: {naive} records one audited save each")
        if run.error:
            note += f"; run errors: {run.error[:120]}"
        return Result("apply_retention", size, done / seconds if seconds else 0.0, naive_rate, "records/s",
                      Target(2000, at_least=True, flat=False), note)


# --- the naive ways ---------------------------------------------------------------------------------------
# Frozen copies of the straightforward implementation, so the baseline does not move when the pages do.

def naive_consent_rates(months: int = 12):
    ends, first = [], timezone.localdate().replace(day=1)
    for _month in range(months):
        ends.append(timezone.make_aware(datetime.combine(first, datetime.min.time())) - timedelta(microseconds=1))
        first = (first - timedelta(days=1)).replace(day=1)
    moments = [*reversed(ends), timezone.now()]
    subjects = {moment: DataSubject.objects.filter(registered_at__lte=moment).count() for moment in moments}
    return [
        (purpose.pk, [(Consent.objects.filter(purpose=purpose, recipient_kind="").in_force_at(moment).count(),
                       subjects[moment]) for moment in moments])
        for purpose in Purpose.objects.filter(requires_consent=True)
    ]


def naive_dashboard():
    now = timezone.now()
    rows = []
    for kind, _label in SubjectRequest.Kind.choices:
        of_kind = SubjectRequest.objects.filter(kind=kind)
        closed = sorted(
            of_kind.filter(closed_at__gte=now - timedelta(days=365)).annotate(
                took=ExpressionWrapper(F("closed_at") - F("received_at"), output_field=DurationField()))
            .values_list("took", flat=True))
        middle = closed[(len(closed) - 1) // 2: len(closed) // 2 + 1] if closed else []
        rows.append((kind, of_kind.open().count(), of_kind.overdue(now).count(), len(closed),
                     sum(middle, timedelta()) / len(middle) if middle else None))
    return rows


def naive_ropa():
    rows = []
    for entry in PersonalDataField.objects.order_by("code"):
        for purpose in entry.purposes.order_by("clause"):
            recipients = sorted({
                disclosure.recipient.legal_name for disclosure in
                Disclosure.objects.filter(sent_at__isnull=False, purpose=purpose, fields=entry)
                .select_related("recipient")
            })
            rows.append((purpose.clause, entry.code, entry.system_id and entry.system.name,
                         entry.retention_rule_id and str(entry.retention_rule), "; ".join(recipients)))
    return rows


def plain_read_digested(batch_size: int = 2000) -> int:
    """Read every row of every digested table in key order, in batches, with the plain ORM."""
    read = 0
    for model in tamper.digested_models():
        names = [f.attname for f in model._meta.concrete_fields]
        last = None
        while True:
            rows = model._base_manager.order_by("pk")
            if last is not None:
                rows = rows.filter(pk__gt=last)
            rows = list(rows.values_list("pk", *names)[:batch_size])
            if not rows:
                break
            read += len(rows)
            last = rows[-1][0]
    return read


def naive_erase(subject_ids: list[int]) -> int:
    """The naive retention: each subject's data blanked, and each address deleted, by one audited save each."""
    written = 0
    reason = "Benchmark: retention the naive way"
    for subject in DataSubject.objects.filter(pk__in=subject_ids).prefetch_related("addresses"):
        with transaction.atomic():
            for address in subject.addresses.all():
                record_delete(instance=address, actor=ACTOR, reason=reason, event=AuditEvent.RETENTION_APPLIED,
                              allow_erased=True)
                written += 1
            subject.account_id, subject.full_name, subject.phone, subject.email = f"ERASED-{subject.pk}", "", "", ""
            subject.pinfl, subject.passport, subject.birth_date = "", "", None
            subject.status, subject.status_changed_at = DataSubject.Status.ANONYMISED, timezone.now()
            record_save(instance=subject, actor=ACTOR, reason=reason, event=AuditEvent.RETENTION_APPLIED,
                        allow_erased=True)
            written += 1
    return written


# --- the consent report's figures (consents/figures.py) ----------------------------------------------------

def consent_figures(bench: Bench, size: int) -> Result:
    """The consent report's counts read from the figures the ledger writes keep, against the one pass
    over the whole ledger that the report made before (``consents_in_force_per_purpose``); the note says
    whether both gave the same numbers."""
    from shipex_privacy.consents.figures import in_force_counts
    from shipex_privacy.consents.reports import consents_in_force_per_purpose, month_ends

    purpose_ids = list(Purpose.objects.filter(requires_consent=True).values_list("pk", flat=True))
    moments = month_ends(12)
    found = {}

    def ours():
        found["ours"] = in_force_counts(purpose_ids, moments)

    def baseline():
        found["baseline"] = consents_in_force_per_purpose(purpose_ids, moments)

    result = bench.compare("consent figures", size, ours, baseline, target=Target(200), warm=False,
                           note="baseline: one pass over the ledger (the report before the figures)")
    result.note += "; same numbers" if found["ours"] == found["baseline"] else "; NUMBERS DIFFER"
    return result
