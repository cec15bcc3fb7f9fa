"""manage.py benchmark: the loader writes what it is asked for; a tiny run prints every measure and drops its database.

No timings are asserted (figures from a test run mean nothing); the table's rows and the
database's removal are what a user of the command would notice.
"""

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from shipex_privacy.audit.models import AccessEvent, TrailEntry
from shipex_privacy.benchmarks.scratch import Loader
from shipex_privacy.consents.figures import figures_drift
from shipex_privacy.consents.models import Consent, ConsentEvent, ConsentFigure
from shipex_privacy.core.names import name_search_key
from shipex_privacy.disclosures.models import DisclosedSubject, Disclosure
from shipex_privacy.rights_requests.models import SubjectRequest
from shipex_privacy.subjects.models import Address, DataSubject

MEASURES = (
    "verify_audit", "search (9 terms)", "name search (4 terms)", "name search page", "subject list count",
    "consent report", "consent figures", "requests dashboard", "RoPA page",
    "request queue", "subjects by status", "subject change page", "subject change page queries", "apply_retention",
)


@pytest.mark.django_db
def test_the_loader_writes_the_proportions_asked_for_and_grows_the_same_database():
    before = {model: model._base_manager.count() for model in (Address, AccessEvent)}
    before[TrailEntry] = TrailEntry.objects.filter(model__in=("subjects.datasubject", "subjects.address")).count()
    loader = Loader()
    loader.grow(1000)
    loader.grow(2000)

    bulk = DataSubject.objects.filter(account_id__startswith="SX1")
    assert bulk.count() == 2000
    assert Address.objects.count() - before[Address] == 3000
    assert DataSubject.history.filter(id__in=bulk.values("pk")).count() == 20_000
    subject_trail = TrailEntry.objects.filter(model__in=("subjects.datasubject", "subjects.address"))
    assert subject_trail.count() - before[TrailEntry] == 20_000 + 3000
    assert AccessEvent.objects.count() - before[AccessEvent] == 40_000
    assert Consent.objects.count() == 4000
    assert ConsentEvent.objects.filter(kind="grant").count() == 4000
    assert ConsentEvent.objects.filter(kind="withdraw").count() == Consent.objects.filter(state="withdrawn").count()
    assert ConsentFigure.objects.exists() and figures_drift() == []  # the report's figures follow the ledger
    assert SubjectRequest.objects.count() == 100
    assert Disclosure.objects.filter(status="sent").count() == 6
    assert DisclosedSubject.objects.count() == 30
    # Values as the application stores them: what the searches look up.
    subject = bulk.order_by("pk").first()
    assert subject.phone.startswith("+99890") and len(subject.phone) == 13
    assert subject.email == subject.email.lower() and len(subject.pinfl) == 14
    assert DataSubject.objects.search(subject.phone).get() == subject
    assert subject.name_key == name_search_key(subject.full_name)  # as the model's field would set it
    assert subject in DataSubject.objects.search(subject.full_name.upper(), by_name=True)
    assert set(bulk.values_list("status", flat=True)) == {"active", "logged_out", "closed"}
    assert len(loader.expired_subject_ids) == 25 + 25  # 1 per 40 subjects of each step


@pytest.mark.django_db
def test_the_loader_can_write_subjects_with_their_consents_only():
    before = {model: model._base_manager.count() for model in (Address, AccessEvent, SubjectRequest)}
    Loader().grow(500, consents_only=True)
    assert DataSubject.objects.filter(account_id__startswith="SX1").count() == 500
    assert Consent.objects.count() == 1000
    assert ConsentEvent.objects.filter(kind="grant").count() == 1000
    assert figures_drift() == []
    assert {model: model._base_manager.count() for model in before} == before  # nothing else


def scratch_exists(name: str) -> bool:
    if connection.vendor == "sqlite":
        return Path(name).exists()
    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return cursor.fetchone() is not None


def test_a_tiny_run_prints_every_measure_at_both_sizes_and_drops_its_database(django_db_blocker):
    with django_db_blocker.unblock():
        scratch = f"{connection.settings_dict['NAME']}_bench"
        out, err = io.StringIO(), io.StringIO()
        options = ["--allow-sqlite"] if connection.vendor == "sqlite" else []
        call_command("benchmark", "--sizes", "300,600", "--repeat", "1", "--audit-sample", "50", *options,
                     stdout=out, stderr=err)
        table = out.getvalue()
        for measure in MEASURES:
            sizes = ("300",) if measure == "verify_audit" else ("300", "600")
            for size in sizes:
                assert f"{measure} @{size} " in table, f"{measure} @{size} missing from:\n{table}"
        assert "growth" in table and ("ok" in table or "MISSED" in table)
        assert not scratch_exists(scratch)


def test_a_tiny_intake_run_measures_every_path_and_drops_its_database(django_db_blocker):
    with django_db_blocker.unblock():
        scratch = f"{connection.settings_dict['NAME']}_bench"
        out, err = io.StringIO(), io.StringIO()
        options = ["--allow-sqlite"] if connection.vendor == "sqlite" else []
        call_command("benchmark_intake", "--subjects", "40", "--one-by-one", "5", "--events", "40", "--reads", "5",
                     "--import-lines", "40", "--batch-size", "20", "--read-subjects", "300", *options,
                     stdout=out, stderr=err)
        said = out.getvalue()
        for path in ("subjects one at a time", "subjects through the batch path", "import 40 lines",
                     "GET …/consents at 300 subjects"):  # filled to the size asked for before the reads
            assert path in said, f"{path!r} missing from:\n{said}"
        assert not scratch_exists(scratch)
