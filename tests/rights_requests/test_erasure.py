"""Catalogue-driven erasure (1.5): erased, anonymised, kept under retention, or a task for another system."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from shipex_privacy.audit.models import TrailEntry
from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.models import PersonalDataField, Purpose, RetentionRule
from shipex_privacy.consents.models import Consent, ConsentEvent, PolicyAcceptance
from shipex_privacy.consents.services import Evidence, consent_grant, policy_accept
from shipex_privacy.retention import erasing
from shipex_privacy.rights_requests.erasure import erasure_report, erasure_task_done, request_erase
from shipex_privacy.rights_requests.models import ErasureItem, SubjectRequest
from shipex_privacy.rights_requests.services import request_move, request_receive, request_verify_identity
from shipex_privacy.subjects.models import Address, DataSubject, ServiceUse
from tests.catalogue.factories import RetentionRuleFactory
from tests.consents.factories import PolicyVersionFactory
from tests.retention.factories import LegalHoldFactory, ServiceUseFactory
from tests.subjects.factories import AddressFactory, DataSubjectFactory

pytestmark = pytest.mark.django_db
Outcome = ErasureItem.Outcome


def erasure_request(agent, subject, *, verified=True, kind="erasure"):
    request = request_receive(kind=kind, channel="phone", actor=agent, subject=subject,
                              requester_name="Aziza Tursunova", details="Please delete my account.")
    if verified:
        request = request_verify_identity(request=request, method="sms_code", actor=agent)
    return request


def items_by_code(request) -> dict[str, ErasureItem]:
    return {item.field.code: item for item in request.erasure_items.select_related("field")}


def years_later(day, years):
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def history_rows() -> int:
    """Every history row of every audited model has exactly one trail entry."""
    return TrailEntry.objects.count()


@pytest.fixture
def tax_rule_for_names():
    """Makes the (mandatory) full name statutory: kept 5 years after the account is closed."""
    rule = RetentionRuleFactory(code="tax-5y", is_statutory=True, legal_reference="Tax Code, art. 91",
                                clock_starts=RetentionRule.ClockStart.ACCOUNT_CLOSED, period=5)
    entry = PersonalDataField.objects.get(code="identity.full_name")
    entry.retention_rule = rule
    record_save(instance=entry, actor=None, reason="Test: names fall under the tax rule")
    return rule


@pytest.fixture
def subject_with_everything():
    subject = DataSubjectFactory(preferred_language="ru")
    AddressFactory.create_batch(2, subject=subject)
    ServiceUseFactory(subject=subject)
    policy = PolicyVersionFactory(published=True)
    policy_accept(subject=subject, version=policy, accepted_at=timezone.now() - timedelta(days=200), channel="app",
                  actor=None, ip_address="213.230.64.10", user_agent="ShipEx/5.2 (Android 14)")
    consent_grant(subject=subject, purpose=Purpose.objects.get(clause="1.3.2.5"), policy_version=policy, actor=None,
                  occurred_at=timezone.now() - timedelta(days=100),
                  evidence=Evidence(channel="app", ip_address="213.230.64.10"))
    return subject


# statutory / bound / mandatory / value present → outcome and what the subject's record holds after.
ERASURE_AGAINST_RETENTION = [
    # code, statutory, bound, mandatory, present, outcome, stored value (None: not in this back office)
    ("contact.phone", False, True, True, True, Outcome.ERASED, ""),
    ("contact.phone", False, True, True, False, Outcome.NOT_HELD, ""),
    ("contact.email", False, True, False, True, Outcome.ERASED, ""),
    ("contact.email", False, True, False, False, Outcome.NOT_HELD, ""),
    ("identity.full_name", True, True, True, True, Outcome.KEPT, "kept"),
    ("identity.full_name", True, True, True, False, Outcome.NOT_HELD, ""),
    ("document.passport", True, True, False, True, Outcome.KEPT, "kept"),
    ("document.passport", True, True, False, False, Outcome.NOT_HELD, ""),
    ("technical.device", False, False, True, None, Outcome.TASK, None),
    ("contact.call_records", False, False, False, None, Outcome.TASK, None),
    ("payment.history", True, False, True, None, Outcome.TASK, None),
    ("payment.card_masked", True, False, False, None, Outcome.TASK, None),
]


@pytest.mark.parametrize(("code", "statutory", "bound", "mandatory", "present", "outcome", "stored"),
                         ERASURE_AGAINST_RETENTION, ids=lambda value: str(value))
def test_erasure_against_retention(support_agent, tax_rule_for_names, code, statutory, bound, mandatory, present,
                                   outcome, stored):
    entry = PersonalDataField.objects.select_related("retention_rule").get(code=code)
    assert (entry.retention_rule.is_statutory, bool(entry.binding), entry.is_mandatory) == (
        statutory, bound, mandatory)
    field_name = entry.binding.rsplit(".", 1)[-1] if bound else None
    subject = DataSubjectFactory(**({field_name: ""} if bound and not present else {}))
    before = getattr(subject, field_name) if bound else None

    request_erase(request=erasure_request(support_agent, subject), actor=support_agent)

    item = items_by_code(SubjectRequest.objects.get(subject=subject))[code]
    assert item.outcome == outcome
    subject.refresh_from_db()
    if bound:
        assert getattr(subject, field_name) == (before if stored == "kept" else stored)
    if outcome == Outcome.KEPT:
        assert item.kept_under == entry.retention_rule.legal_reference
    if outcome == Outcome.TASK:
        assert (item.system, item.task_done_at) == (entry.system, None)


def test_kept_data_says_under_which_law_and_until_when(support_agent, tax_rule_for_names):
    subject = DataSubjectFactory(full_name="Aziza Tursunova")
    request = erasure_request(support_agent, subject)

    request_erase(request=request, actor=support_agent)

    until = years_later(timezone.localdate(), 5)  # the account closed today
    item = items_by_code(request)["identity.full_name"]
    assert (item.outcome, item.kept_under, item.kept_until) == (Outcome.KEPT, "Tax Code, art. 91", until)
    report = erasure_report(request)
    assert f"Full name: kept under Tax Code, art. 91 until {until:%d.%m.%Y}" in report
    # The customs clock (delivery of a shipment) is not held here: the report gives the period instead.
    assert any(line.startswith("Passport series and number: kept under Customs Code")
               and line.endswith("(5 years; the clock starts when the shipment is delivered)") for line in report)
    assert "Phone number: erased" in report
    assert "Account number: anonymised" in report
    assert "Records of requests and calls: task for Customer support — open" in report
    subject.refresh_from_db()
    assert subject.full_name == "Aziza Tursunova"


def test_erasure_closes_the_account_and_erases_every_record_of_the_subject(support_agent, subject_with_everything):
    subject = subject_with_everything
    registered, passport, name = subject.registered_at, subject.passport, subject.full_name
    request = erasure_request(support_agent, subject)

    request_erase(request=request, actor=support_agent)

    subject.refresh_from_db()
    assert subject.status == DataSubject.Status.CLOSED and subject.status_changed_at is not None
    assert (subject.account_id, subject.full_name, subject.phone, subject.email, subject.birth_date) == (
        f"ERASED-{subject.pk}", "", "", "", None)
    assert subject.preferred_language == "uz"
    assert subject.registered_at == timezone.localtime(registered).replace(
        month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    assert subject.passport == passport  # statutory (customs)
    assert not Address.objects.filter(subject=subject).exists()
    assert not ServiceUse.objects.filter(subject=subject).exists()
    acceptance = PolicyAcceptance.objects.get(subject=subject)
    assert (acceptance.ip_address, acceptance.user_agent) == (None, "")
    consent = Consent.objects.get(subject=subject)
    assert not consent.is_in_force()
    assert consent.events.get(kind="withdraw").evidence_reference == f"DSR #{request.pk}"
    # The consent ledger is append-only: its evidence is kept under its rule, from the withdrawal.
    assert ConsentEvent.objects.get(consent=consent, kind="grant").subject_name == name
    items = items_by_code(request)
    withdrawn = timezone.localdate(consent.withdrawn_at)
    assert (items["consent.document_name"].outcome, items["consent.document_name"].kept_under) == (
        Outcome.KEPT, "consent-evidence-3y")
    assert items["consent.document_name"].kept_until == years_later(withdrawn, 3)
    assert (items["address.street"].outcome, items["address.street"].rows) == (Outcome.ERASED, 2)
    assert (items["account.account_id"].outcome, items["account.preferred_language"].outcome) == (
        Outcome.ANONYMISED, Outcome.ANONYMISED)
    assert items["consent.acceptance_ip"].outcome == Outcome.ERASED
    # The request's own records are kept: they show how ShipEx answered.
    assert (items["request.requester_name"].outcome, items["request.requester_name"].kept_under) == (
        Outcome.KEPT, "dsr-records-3y")
    assert SubjectRequest.objects.get(pk=request.pk).requester_name == "Aziza Tursunova"
    assert len(items) == PersonalDataField.objects.count()
    reason = f"Request #{request.pk}: erasure (1.5)"
    assert subject.history.latest().history_change_reason == reason
    assert Address.history.filter(subject_id=subject.pk, history_type="-").count() == 2
    assert set(Address.history.filter(subject_id=subject.pk, history_type="-").values_list(
        "history_change_reason", flat=True)) == {reason}
    assert subject.history.latest().history_username == support_agent.username


def test_the_account_closes_only_when_a_mandatory_entry_is_erased(support_agent):
    subject = DataSubjectFactory()
    for entry in PersonalDataField.objects.filter(requirement="mandatory").exclude(binding=""):
        # Keep every mandatory entry under a statutory rule: nothing mandatory is erased.
        entry.retention_rule = RetentionRule.objects.get(code="customs-5y")
        record_save(instance=entry, actor=None, reason="Test")

    request_erase(request=erasure_request(support_agent, subject), actor=support_agent)

    subject.refresh_from_db()
    assert subject.status == DataSubject.Status.ACTIVE
    assert subject.email == ""


def _closed(agent, subject):
    request = erasure_request(agent, subject)
    return request_move(request=request, status="refused", actor=agent, response_text="Rad etildi.")


@pytest.mark.parametrize(("situation", "message"), [
    ("identity not verified", "verify the requester's identity"),
    ("no subject", "Match the request to a subject"),
    ("another kind of request", "this step is for: Erasure"),
    ("closed", r"is closed \(refused\)"),
    ("legal hold", r"under a legal hold \(Tashkent city economic court"),
])
def test_erasure_is_refused_and_changes_nothing(support_agent, subject_with_everything, situation, message):
    subject = subject_with_everything
    request = {
        "identity not verified": lambda: erasure_request(support_agent, subject, verified=False),
        "no subject": lambda: request_receive(kind="erasure", channel="app", actor=support_agent),
        "another kind of request": lambda: erasure_request(support_agent, subject, kind="access"),
        "closed": lambda: _closed(support_agent, subject),
        "legal hold": lambda: erasure_request(support_agent, LegalHoldFactory(subject=subject).subject),
    }[situation]()
    rows = history_rows()

    with pytest.raises(ValidationError, match=message):
        request_erase(request=request, actor=support_agent)

    assert history_rows() == rows
    assert not ErasureItem.objects.exists()
    subject.refresh_from_db()
    assert subject.status == DataSubject.Status.ACTIVE and subject.phone
    assert Consent.objects.get(subject=subject).is_in_force()


def test_running_it_twice_changes_nothing_more(support_agent, subject_with_everything):
    request = erasure_request(support_agent, subject_with_everything)
    first = request_erase(request=request, actor=support_agent)
    rows = history_rows()

    second = request_erase(request=request, actor=support_agent)

    assert [item.pk for item in second] == [item.pk for item in first]
    assert history_rows() == rows
    assert ErasureItem.objects.filter(request=request).count() == PersonalDataField.objects.count()


def test_a_second_request_finds_nothing_left_to_erase(support_agent, subject_with_everything):
    subject = subject_with_everything
    request_erase(request=erasure_request(support_agent, subject), actor=support_agent)
    subject_rows = {model: model.history.filter(**lookup).count() for model, lookup in (
        (DataSubject, {"id": subject.pk}), (Address, {"subject_id": subject.pk}),
        (ServiceUse, {"subject_id": subject.pk}), (PolicyAcceptance, {"subject_id": subject.pk}),
        (Consent, {"subject_id": subject.pk}))}
    again = erasure_request(support_agent, subject)

    request_erase(request=again, actor=support_agent)

    assert subject_rows == {model: model.history.filter(**lookup).count() for model, lookup in (
        (DataSubject, {"id": subject.pk}), (Address, {"subject_id": subject.pk}),
        (ServiceUse, {"subject_id": subject.pk}), (PolicyAcceptance, {"subject_id": subject.pk}),
        (Consent, {"subject_id": subject.pk}))}
    outcomes = {item.outcome for code, item in items_by_code(again).items() if code.startswith(("contact.", "address."))
                and item.outcome != Outcome.TASK}
    assert outcomes == {Outcome.NOT_HELD}


def test_a_failure_half_way_changes_nothing(support_agent, subject_with_everything, monkeypatch):
    subject = subject_with_everything
    apply_plan = erasing.apply_plan

    def fail_on_addresses(plan, **kwargs):
        if isinstance(plan.instance, Address):
            raise RuntimeError("disk full")
        return apply_plan(plan, **kwargs)

    monkeypatch.setattr(erasing, "apply_plan", fail_on_addresses)
    request = erasure_request(support_agent, subject)
    rows = history_rows()

    with pytest.raises(RuntimeError):
        request_erase(request=request, actor=support_agent)

    assert history_rows() == rows
    subject.refresh_from_db()
    assert subject.status == DataSubject.Status.ACTIVE and subject.phone
    assert Address.objects.filter(subject=subject).count() == 2
    assert Consent.objects.get(subject=subject).is_in_force()
    assert not ErasureItem.objects.exists()


def test_tasks_are_ticked_off_one_by_one(support_agent, compliance_officer):
    request = erasure_request(support_agent, DataSubjectFactory())
    request_erase(request=request, actor=support_agent)
    tasks = list(request.erasure_items.filter(outcome=Outcome.TASK).select_related("field").order_by("field__code"))
    assert len(tasks) == PersonalDataField.objects.filter(binding="").count()

    done = erasure_task_done(item=tasks[0], actor=compliance_officer, note="Deleted in the CRM, ticket CRM-5512")

    assert (done.task_done_by_username, done.task_note) == ("nodira", "Deleted in the CRM, ticket CRM-5512")
    assert done.history.latest().history_change_reason.startswith(f"Request #{request.pk}: ")
    assert [item.is_open_task for item in ErasureItem.objects.filter(pk__in=[t.pk for t in tasks]).order_by(
        "field__code")] == [False] + [True] * (len(tasks) - 1)
    report = erasure_report(request)
    assert f"{tasks[0].field.name}: task for {tasks[0].system.owner} — done" in report
    assert f"{tasks[1].field.name}: task for {tasks[1].system.owner} — open" in report

    with pytest.raises(ValidationError, match="already ticked off by nodira"):
        erasure_task_done(item=tasks[0], actor=compliance_officer)
    erased = request.erasure_items.get(field__code="contact.phone")
    with pytest.raises(ValidationError, match="is not a task"):
        erasure_task_done(item=erased, actor=compliance_officer)
