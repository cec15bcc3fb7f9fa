"""The retention run (1.3.1): data past its rule goes, in batches, unless a legal hold or the law keeps it."""

import datetime
from datetime import timedelta

import pytest
from django.db.models import ProtectedError
from django.utils import timezone

from shipex_privacy.audit.events import AuditEvent
from shipex_privacy.audit.models import TrailEntry
from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.models import PersonalDataField, Purpose, RetentionRule
from shipex_privacy.consents.models import ConsentEvent, PolicyAcceptance
from shipex_privacy.consents.services import Evidence, consent_grant, consent_withdraw, consents_lapse_due
from shipex_privacy.retention import erasing
from shipex_privacy.retention.models import RetentionRun
from shipex_privacy.retention.services import legal_hold_release, retention_apply
from shipex_privacy.rights_requests.services import request_move, request_receive, request_verify_identity
from shipex_privacy.subjects.models import Address, DataSubject, ServiceUse
from tests.catalogue.factories import RetentionRuleFactory
from tests.consents.factories import PolicyVersionFactory
from tests.retention.factories import YEARS_AGO_4, ClosedSubjectFactory, LegalHoldFactory, closed_with_records
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db


def counts(run: RetentionRun) -> dict[tuple[str, str], tuple[int, ...]]:
    return {(c.rule.code, c.model): (c.expired, c.deleted, c.anonymised, c.held, c.failed)
            for c in run.counts.select_related("rule")}


def history_of(subject) -> int:
    return TrailEntry.objects.filter(subject_id=subject.pk).count()


def fail_writing(monkeypatch, subject: DataSubject, error: Exception) -> None:
    """Writing ``subject`` fails with ``error``, whether its batch is written in bulk or record by record."""
    full_clean = DataSubject.full_clean

    def refuse(instance, *args, **kwargs):
        if instance.pk == subject.pk:
            raise error
        return full_clean(instance, *args, **kwargs)

    monkeypatch.setattr(DataSubject, "full_clean", refuse)


@pytest.fixture
def population():
    return {
        "expired": closed_with_records(),
        "closed recently": closed_with_records(closed_days_ago=100),
        "active": DataSubjectFactory(),
    }


def test_a_dry_run_changes_nothing_and_counts_what_the_run_then_does(population):
    expired = population["expired"]
    before = {name: history_of(subject) for name, subject in population.items()}

    dry = retention_apply(dry_run=True, started_by="scheduler")

    assert (dry.dry_run, dry.status, dry.error) == (True, RetentionRun.Status.FINISHED, "")
    assert {name: history_of(subject) for name, subject in population.items()} == before
    expired.refresh_from_db()
    assert expired.full_name and Address.objects.filter(subject=expired).count() == 2
    dry_counts = counts(dry)
    assert dry_counts[("account-3y", "subjects.DataSubject")] == (1, 0, 1, 0, 0)
    assert dry_counts[("account-3y", "subjects.Address")] == (2, 2, 0, 0, 0)
    assert dry_counts[("account-3y", "subjects.ServiceUse")] == (1, 1, 0, 0, 0)
    assert dry_counts[("consent-evidence-3y", "consents.PolicyAcceptance")] == (1, 1, 0, 0, 0)

    run = retention_apply(dry_run=False, started_by="scheduler")

    assert counts(run) == dry_counts
    assert run.status == RetentionRun.Status.FINISHED
    expired.refresh_from_db()
    assert (expired.account_id, expired.full_name, expired.phone, expired.email, expired.birth_date) == (
        f"ERASED-{expired.pk}", "", "", "", None)
    assert not Address.objects.filter(subject=expired).exists()
    assert not ServiceUse.objects.filter(subject=expired).exists()
    assert PolicyAcceptance.objects.filter(subject=expired, ip_address=None, user_agent="").exists()
    for name in ("closed recently", "active"):
        assert history_of(population[name]) == before[name]
    # Nothing is left for a second run.
    again = retention_apply(dry_run=False, started_by="scheduler")
    assert {key: value for key, value in counts(again).items() if any(value)} == {}


def test_a_statutory_field_stays_while_the_others_under_the_expired_rule_go():
    rule = RetentionRuleFactory(code="tax-5y", is_statutory=True, legal_reference="Tax Code, art. 91", period=5,
                                clock_starts=RetentionRule.ClockStart.ACCOUNT_CLOSED)
    entry = PersonalDataField.objects.get(code="document.pinfl")
    entry.retention_rule = rule
    record_save(instance=entry, actor=None, reason="Test: PINFL under the tax rule")
    four_years, six_years = ClosedSubjectFactory(), ClosedSubjectFactory(closed_days_ago=6 * 365)
    pinfl, passport = four_years.pinfl, four_years.passport

    run = retention_apply(dry_run=False, started_by="scheduler")

    four_years.refresh_from_db()
    six_years.refresh_from_db()
    assert (four_years.full_name, four_years.pinfl, four_years.passport) == ("", pinfl, passport)
    assert six_years.pinfl == ""  # the statutory period has run out as well
    assert counts(run)[("tax-5y", "subjects.DataSubject")] == (1, 1, 0, 0, 0)
    # Customs data counts from the delivery of a shipment, which this back office does not hold.
    note = run.counts.get(rule__code="customs-5y", model="subjects.DataSubject").note
    assert "is not held in this back office" in note


def test_a_legal_hold_keeps_the_subject_out_of_the_run(compliance_officer):
    held, other = closed_with_records(), closed_with_records()
    hold = LegalHoldFactory(subject=held)
    name = held.full_name

    run = retention_apply(dry_run=False, started_by="scheduler")

    held.refresh_from_db()
    assert held.full_name == name and Address.objects.filter(subject=held).count() == 2
    assert PolicyAcceptance.objects.get(subject=held).ip_address == "84.54.70.12"
    assert not Address.objects.filter(subject=other).exists()
    assert counts(run)[("account-3y", "subjects.DataSubject")] == (2, 0, 1, 1, 0)
    assert counts(run)[("account-3y", "subjects.Address")] == (4, 2, 0, 2, 0)

    legal_hold_release(hold=hold, reason="Case closed", actor=compliance_officer)
    retention_apply(dry_run=False, started_by="scheduler")
    held.refresh_from_db()
    assert held.full_name == ""


def test_a_failing_record_is_left_unchanged_and_the_others_complete(monkeypatch):
    failing, fine = closed_with_records(), closed_with_records()
    name = failing.full_name
    fail_writing(monkeypatch, failing, RuntimeError("lock timeout"))

    run = retention_apply(dry_run=False, started_by="scheduler")

    failing.refresh_from_db()
    fine.refresh_from_db()
    assert failing.full_name == name and fine.full_name == ""
    assert run.status == RetentionRun.Status.FAILED
    assert f"subjects.DataSubject #{failing.pk} (account-3y): RuntimeError: lock timeout" in run.error
    assert counts(run)[("account-3y", "subjects.DataSubject")] == (2, 0, 1, 0, 1)
    assert "1 records failed" in run.counts.get(rule__code="account-3y", model="subjects.DataSubject").note
    # The failing subject's other records were their own transactions and went.
    assert not Address.objects.filter(subject=failing).exists()


def test_records_go_in_batches_with_progress():
    subjects = [closed_with_records() for _ in range(3)]
    seen = []

    run = retention_apply(dry_run=False, started_by="scheduler", batch_size=1,
                          progress=lambda done, total: seen.append((done, total)))

    total = seen[0][1]
    assert seen[0] == (0, total) and seen[-1] == (total, total)
    assert [done for done, _total in seen] == sorted(done for done, _total in seen)
    assert total == sum(c.expired - c.held for c in run.counts.filter(note=""))
    assert all(DataSubject.objects.get(pk=subject.pk).full_name == "" for subject in subjects)


def test_history_names_the_run_and_whoever_started_it(compliance_officer):
    subject = closed_with_records()

    scheduled = retention_apply(dry_run=False, started_by="scheduler")

    row = DataSubject.history.filter(id=subject.pk).latest()
    assert row.history_change_reason == f"Retention run #{scheduled.pk}: rule account-3y expired (1.3.1)"
    assert (row.history_user_id, row.history_username) == (None, "system:retention")
    assert scheduled.started_by == "scheduler"
    entry = TrailEntry.objects.get(history_table=row._meta.db_table, history_id=row.history_id)
    assert (entry.username, entry.event) == ("system:retention", AuditEvent.RETENTION_APPLIED)

    other = closed_with_records()
    by_hand = retention_apply(dry_run=False, started_by=compliance_officer.username, actor=compliance_officer)
    row = DataSubject.history.filter(id=other.pk).latest()
    assert (row.history_username, row.history_change_reason) == (
        "nodira", f"Retention run #{by_hand.pk}: rule account-3y expired (1.3.1)")


def test_append_only_ledgers_are_counted_and_never_touched():
    subject = DataSubjectFactory()
    policy = PolicyVersionFactory(published=True, effective_date=datetime.date(2020, 1, 1))
    purpose = Purpose.objects.get(clause="1.3.2.5")
    event = consent_grant(subject=subject, purpose=purpose, policy_version=policy, actor=None,
                          occurred_at=YEARS_AGO_4 - timedelta(days=30), evidence=Evidence(channel="web",
                                                                                           ip_address="84.54.70.12"))
    consent_withdraw(consent=event.consent, occurred_at=YEARS_AGO_4, evidence=Evidence(channel="web"), actor=None)

    run = retention_apply(dry_run=False, started_by="scheduler")

    count = run.counts.get(rule__code="consent-evidence-3y", model="consents.ConsentEvent")
    assert (count.expired, count.deleted, count.anonymised) == (1, 0, 0)  # the grant holds an IP and a name
    assert "Append-only ledger" in count.note
    assert ConsentEvent.objects.get(pk=event.pk).ip_address == "84.54.70.12"


def test_a_consent_that_lapsed_counts_from_the_end_of_its_term_like_a_withdrawn_one():
    subject = DataSubjectFactory()
    policy = PolicyVersionFactory(published=True, effective_date=datetime.date(2020, 1, 1))
    purpose = Purpose.objects.get(clause="1.3.2.5")
    lapsed = consent_grant(subject=subject, purpose=purpose, policy_version=policy, actor=None,
                           occurred_at=YEARS_AGO_4 - timedelta(days=30), expires_at=YEARS_AGO_4,
                           evidence=Evidence(channel="web", ip_address="84.54.70.12"))
    recent = consent_grant(subject=DataSubjectFactory(), purpose=purpose, policy_version=policy, actor=None,
                           occurred_at=YEARS_AGO_4 - timedelta(days=30), expires_at=timezone.now() - timedelta(days=30),
                           evidence=Evidence(channel="web", ip_address="84.54.70.13"))
    assert consents_lapse_due() == 2

    run = retention_apply(dry_run=True, started_by="scheduler")

    count = run.counts.get(rule__code="consent-evidence-3y", model="consents.ConsentEvent")
    assert count.expired == 1  # the grant of the consent whose term ended four years ago, not the recent one
    assert lapsed.consent.events.filter(kind="lapse").exists() and recent.consent.events.filter(kind="lapse").exists()


def test_requests_are_erased_three_years_after_they_were_closed(support_agent):
    from shipex_privacy.rights_requests.models import SubjectRequest

    def closed_request(name, closed_at):
        request = request_receive(kind="access", channel="phone", actor=support_agent, subject=DataSubjectFactory(),
                                  received_at=YEARS_AGO_4, requester_name=name, details="A copy, please.")
        request_verify_identity(request=request, method="sms_code", actor=support_agent)
        request = request_move(request=request, status="refused", actor=support_agent, response_text="Javob berildi.")
        request.closed_at = closed_at  # as if it had closed then
        return record_save(instance=request, actor=support_agent, reason="test: closed long ago")

    long_closed = closed_request("Aziza Tursunova", YEARS_AGO_4 + timedelta(days=30))
    # Received four years ago too, but paused and closed only today: its records are fresh evidence.
    just_closed = closed_request("Dilshod Rahimov", timezone.now())
    still_open = request_receive(kind="access", channel="phone", actor=support_agent, received_at=YEARS_AGO_4,
                                 requester_name="Bobur Aliyev")

    run = retention_apply(dry_run=False, started_by="scheduler")

    long_closed, just_closed, still_open = (SubjectRequest.objects.get(pk=r.pk)
                                            for r in (long_closed, just_closed, still_open))
    assert (long_closed.requester_name, long_closed.details, long_closed.response_text) == (
        "", "", erasing.ERASED_TEXT)
    assert (just_closed.requester_name, just_closed.response_text) == ("Dilshod Rahimov", "Javob berildi.")
    assert still_open.requester_name == "Bobur Aliyev"
    assert counts(run)[("dsr-records-3y", "rights_requests.SubjectRequest")] == (1, 0, 1, 0, 0)


def test_an_access_package_file_goes_after_90_days_and_its_proof_stays(support_agent,
                                                                     django_capture_on_commit_callbacks):
    from shipex_privacy.rights_requests.access_package import access_package_build

    request = request_receive(kind="access", channel="app", actor=support_agent, subject=DataSubjectFactory())
    request = request_verify_identity(request=request, method="app_login", actor=support_agent)
    with django_capture_on_commit_callbacks(execute=True):  # a package's file is put in place on commit
        old, recent = (access_package_build(request=request, actor=support_agent) for _ in range(2))
    old.built_at = timezone.now() - timedelta(days=91)
    record_save(instance=old, actor=support_agent, reason="test: built three months ago")
    stored, storage = old.file.name, old.file.storage

    with django_capture_on_commit_callbacks() as on_commit:
        retention_apply(dry_run=False, started_by="scheduler")
    assert storage.exists(stored)  # until the commit: a rollback keeps the row and its file together
    # Run only the file deletions the commit would run (other callbacks fill caches of committed ids).
    deletions = [callback for callback in on_commit if getattr(callback, "func", None) == storage.delete]
    assert len(deletions) == 1
    deletions[0]()

    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.file.name == "" and not storage.exists(stored) and len(old.sha256) == 64
    assert recent.file.name and storage.exists(recent.file.name)


def test_the_error_of_a_record_still_referenced_names_no_personal_data(monkeypatch):
    subject = closed_with_records()
    address = Address.objects.filter(subject=subject).first()

    def protected(**options):
        raise ProtectedError("Cannot delete: referenced.", {address})

    # A batch deletes it with record_delete_many; redone record by record, with record_delete.
    monkeypatch.setattr(erasing, "record_delete_many", protected)
    monkeypatch.setattr(erasing, "record_delete", protected)

    run = retention_apply(dry_run=False, started_by="scheduler")

    assert f"subjects.Address #{address.pk} (account-3y): still referenced by subjects.Address #{address.pk}" \
        in run.error
    assert address.street not in run.error
    assert Address.objects.filter(pk=address.pk).exists()


def test_a_database_error_is_named_without_the_values_it_quotes(monkeypatch):
    from django.db import IntegrityError

    failing = closed_with_records()
    # What PostgreSQL says: its DETAIL line quotes the values of the row.
    fail_writing(monkeypatch, failing, IntegrityError("duplicate key value violates unique constraint "
                                                      "\"subject_phone\"\nDETAIL:  Key (phone)=(+998901234567) "
                                                      "already exists."))

    run = retention_apply(dry_run=False, started_by="scheduler")

    assert f"subjects.DataSubject #{failing.pk} (account-3y): IntegrityError" in run.error
    assert "+998901234567" not in run.error
