"""The retention run in batches through the bulk audited path: what one save per record wrote, in a few statements.

The one-by-one path (``services._apply_one`` for each record, as the run did before batches and
still does for a batch that fails) is run on the same data inside a transaction that is then rolled
back; the batched run afterwards must leave the same records and the same history rows and trail
entries, and the audit record must verify.
"""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shipex_privacy.audit.events import AuditEvent
from shipex_privacy.audit.models import TrailEntry
from shipex_privacy.audit.services import record_save
from shipex_privacy.audit.tamper import verify
from shipex_privacy.catalogue.models import PersonalDataField, RetentionRule
from shipex_privacy.retention import services
from shipex_privacy.retention.models import RetentionRun
from shipex_privacy.retention.services import retention_apply
from shipex_privacy.subjects.models import Address, DataSubject
from tests.catalogue.factories import RetentionRuleFactory
from tests.retention.factories import ClosedSubjectFactory, LegalHoldFactory, closed_with_records
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db


class Undone(Exception):
    """Rolls the one-by-one run back, so the batched run starts from the same data."""


def one_by_one(work, pks, *, run, count, dry_run, actor, errors):
    """The run before batches: every record in its own transaction, one audited save each."""
    return [pk for pk in pks if services._apply_one(work, pk, run=run, count=count, dry_run=dry_run, actor=actor,
                                                    errors=errors)]


def what_the_run_wrote(run: RetentionRun, after: int) -> list[tuple]:
    """Every trail entry the run's erasures wrote, with its history row's values (run number and moments aside)."""
    rows = []
    for entry in TrailEntry.objects.filter(pk__gt=after, event=AuditEvent.RETENTION_APPLIED).order_by("pk"):
        history = next(model.history.model for model in (DataSubject, Address, *_other_models())
                       if model.history.model._meta.db_table == entry.history_table)
        row = history.objects.get(history_id=entry.history_id)
        values = {f.attname: getattr(row, f.attname) for f in history._meta.concrete_fields
                  if f.attname not in ("history_id", "history_date")}
        reason = entry.reason.replace(f"#{run.pk}:", "#RUN:")
        values["history_change_reason"] = values["history_change_reason"].replace(f"#{run.pk}:", "#RUN:")
        rows.append((entry.model, entry.object_id, entry.action, entry.user_id, entry.username, entry.subject_id,
                     reason, entry.event, entry.ip, sorted(values.items(), key=lambda item: item[0])))
    return sorted(rows, key=lambda row: (row[0], int(row[1]), row[2]))


def _other_models():
    from shipex_privacy.consents.models import PolicyAcceptance
    from shipex_privacy.rights_requests.models import SubjectRequest
    from shipex_privacy.subjects.models import ServiceUse

    return (ServiceUse, PolicyAcceptance, SubjectRequest)


def counts(run: RetentionRun) -> dict[tuple[str, str], tuple[int, ...]]:
    return {(c.rule.code, c.model): (c.expired, c.deleted, c.anonymised, c.held, c.failed, c.examples)
            for c in run.counts.select_related("rule")}


def state(subjects) -> list[tuple]:
    return [(s.account_id, s.full_name, s.phone, s.email, s.birth_date, s.pinfl, s.status, s.registered_at,
             Address.objects.filter(subject=s).count())
            for s in DataSubject.objects.filter(pk__in=[s.pk for s in subjects]).order_by("pk")]


def test_a_batched_run_writes_the_records_history_and_trail_of_one_save_per_record(monkeypatch,
                                                                                   compliance_officer):
    subjects = [closed_with_records() for _ in range(4)]
    LegalHoldFactory(subject=subjects[1])  # held: left alone by both
    subjects.append(ClosedSubjectFactory(closed_days_ago=100))  # not expired yet
    after = TrailEntry.objects.order_by("pk").last().pk

    with pytest.raises(Undone), transaction.atomic():
        with monkeypatch.context() as patched:
            patched.setattr(services, "_apply_batch", one_by_one)
            single = retention_apply(dry_run=False, started_by="nodira", actor=compliance_officer, batch_size=3)
        expected = (counts(single), state(subjects), what_the_run_wrote(single, after))
        raise Undone
    assert state(subjects) != expected[1]  # rolled back: the batched run starts from the same data

    batched = retention_apply(dry_run=False, started_by="nodira", actor=compliance_officer, batch_size=3)

    assert (counts(batched), state(subjects), what_the_run_wrote(batched, after)) == expected
    assert batched.status == RetentionRun.Status.FINISHED and batched.error == ""
    assert len(expected[2]) == 3 * 5  # three expired subjects: itself, two addresses, a service use, an acceptance
    assert verify().findings == []
    out = StringIO()
    call_command("verify_audit", stdout=out, stderr=StringIO())  # raises CommandError on any finding
    assert "rows and" in out.getvalue()


def subjects_whose_names_expire(count: int) -> list[DataSubject]:
    return [DataSubjectFactory(registered_at=timezone.now() - timedelta(days=400)) for _ in range(count)]


@pytest.fixture
def names_expire_after_a_year():
    """Open accounts whose name a rule anonymises a year after collection: one save per subject, no deletes."""
    rule = RetentionRuleFactory(code="name-1y", period=1, clock_starts=RetentionRule.ClockStart.COLLECTED,
                                end_action=RetentionRule.EndAction.ANONYMISE)
    entry = PersonalDataField.objects.get(binding="subjects.DataSubject.full_name")
    entry.retention_rule, entry.requirement = rule, PersonalDataField.Requirement.OPTIONAL
    record_save(instance=entry, actor=None, reason="Test: names go a year after registration")
    return rule


def queries_of_a_run(batch_size: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        run = retention_apply(dry_run=False, started_by="scheduler", batch_size=batch_size)
    assert run.status == RetentionRun.Status.FINISHED, run.error
    return len(queries)


def test_a_batch_takes_the_same_queries_however_many_records_it_holds():
    ClosedSubjectFactory()
    queries_of_a_run(batch_size=100)  # the first run also meets the audit tables for the first time
    ClosedSubjectFactory.create_batch(2)
    few = queries_of_a_run(batch_size=100)
    many = ClosedSubjectFactory.create_batch(12)

    assert queries_of_a_run(batch_size=100) == few
    assert not DataSubject.objects.filter(pk__in=[s.pk for s in many]).exclude(full_name="").exists()
    run = RetentionRun.objects.filter(dry_run=False).first()
    count = run.counts.get(rule__code="account-3y", model="subjects.DataSubject")
    assert (count.expired, count.anonymised, count.failed) == (12, 12, 0)
    assert DataSubject.history.filter(history_change_reason=f"Retention run #{run.pk}: rule account-3y expired "
                                                             "(1.3.1)").count() == 12


def test_a_hold_placed_after_the_batch_was_read_keeps_its_subject(monkeypatch, names_expire_after_a_year):
    subjects = subjects_whose_names_expire(3)
    late = subjects[1]
    real = services._erase_batch

    def hold_placed_meanwhile(work, pks, **kwargs):
        if late.pk in pks and not late.legal_holds.exists():
            LegalHoldFactory(subject=late)
        return real(work, pks, **kwargs)

    monkeypatch.setattr(services, "_erase_batch", hold_placed_meanwhile)

    run = retention_apply(dry_run=False, started_by="scheduler")

    names = dict(DataSubject.objects.filter(pk__in=[s.pk for s in subjects]).values_list("pk", "full_name"))
    assert names[late.pk] == late.full_name
    assert [names[s.pk] for s in subjects if s is not late] == ["", ""]
    count = run.counts.get(rule=names_expire_after_a_year, model="subjects.DataSubject")
    assert (count.expired, count.anonymised, count.held, count.failed) == (3, 2, 1, 0)


def test_a_batch_refused_by_one_record_is_done_record_by_record(monkeypatch, names_expire_after_a_year):
    subjects = subjects_whose_names_expire(3)
    failing = subjects[0]
    full_clean = DataSubject.full_clean

    def refuse(instance, *args, **kwargs):
        if instance.pk == failing.pk:
            raise RuntimeError("lock timeout")
        return full_clean(instance, *args, **kwargs)

    monkeypatch.setattr(DataSubject, "full_clean", refuse)

    run = retention_apply(dry_run=False, started_by="scheduler")

    names = dict(DataSubject.objects.filter(pk__in=[s.pk for s in subjects]).values_list("pk", "full_name"))
    assert names[failing.pk] == failing.full_name and [names[s.pk] for s in subjects[1:]] == ["", ""]
    count = run.counts.get(rule=names_expire_after_a_year, model="subjects.DataSubject")
    assert (count.expired, count.anonymised, count.failed) == (3, 2, 1)
    assert f"subjects.DataSubject #{failing.pk} (name-1y): RuntimeError: lock timeout" in run.error
    # One history row for each subject erased: the rolled-back batch left none behind.
    assert DataSubject.history.filter(history_change_reason__startswith=f"Retention run #{run.pk}:").count() == 2


def statements(queries, *needles: str) -> list[str]:
    return [query["sql"] for query in queries if all(needle in query["sql"] for needle in needles)]


def test_a_batch_of_subjects_reads_and_locks_them_once():
    ClosedSubjectFactory.create_batch(3)  # no other records: the subject work alone has a batch

    with CaptureQueriesContext(connection) as queries:
        run = retention_apply(dry_run=False, started_by="scheduler", batch_size=100)

    assert run.counts.get(rule__code="account-3y", model="subjects.DataSubject").anonymised == 3
    # The records are the subjects: their lock (in id order) is the records' lock, not a second read.
    by_id = 'FROM "subjects_datasubject" WHERE "subjects_datasubject"."id" IN'
    assert len(statements(queries.captured_queries, by_id)) == 1


def test_a_batch_asks_once_per_model_whether_its_deletes_go_in_bulk(monkeypatch):
    from shipex_privacy.retention import erasing

    for _ in range(3):
        closed_with_records()  # two addresses and a service use each: deleted whole
    asked = []
    real = erasing.can_delete_many

    def can_delete_many(model):
        asked.append(model._meta.label)
        return real(model)

    monkeypatch.setattr(erasing, "can_delete_many", can_delete_many)

    run = retention_apply(dry_run=False, started_by="scheduler", batch_size=100)

    assert run.counts.get(rule__code="account-3y", model="subjects.Address").deleted == 6
    assert sorted(asked) == ["subjects.Address", "subjects.ServiceUse"]  # one batch of each, not once per record


def test_the_run_writes_its_counts_history_in_one_statement():
    ClosedSubjectFactory()

    with CaptureQueriesContext(connection) as queries:
        run = retention_apply(dry_run=False, started_by="scheduler")

    assert run.counts.count() > 5  # a count per rule and model of the catalogue
    table = '"retention_historicalretentionruncount"'
    writes = [query["sql"] for query in queries.captured_queries
              if query["sql"].startswith((f"INSERT INTO {table}", f"COPY {table}"))]
    assert len(writes) == 1  # not one per count
