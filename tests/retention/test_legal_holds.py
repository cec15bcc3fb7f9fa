"""Legal holds: placed and released with a stated reason, on record, and honoured by erasure."""

import pytest
from django.core.exceptions import ValidationError

from shipex_privacy.retention.models import LegalHold
from shipex_privacy.retention.services import legal_hold_place, legal_hold_release
from tests.retention.factories import LegalHoldFactory
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db
COURT = "Tashkent city economic court, case 4-1001-2601/123"


def test_a_hold_is_placed_and_released_with_who_and_why(compliance_officer):
    subject = DataSubjectFactory()

    hold = legal_hold_place(subject=subject, reason=" Customs dispute ", legal_reference=COURT,
                            actor=compliance_officer)

    assert (hold.reason, hold.placed_by_username, hold.is_active) == ("Customs dispute", "nodira", True)
    assert hold.history.latest().history_change_reason == f"Legal hold placed: {COURT}"
    assert list(LegalHold.objects.active()) == [hold]

    legal_hold_release(hold=hold, reason="The court closed the case", actor=compliance_officer)

    hold.refresh_from_db()
    assert (hold.is_active, hold.released_by_username, hold.release_reason) == (
        False, "nodira", "The court closed the case")
    assert hold.history.latest().history_change_reason == "The court closed the case"
    assert not LegalHold.objects.active().exists()


@pytest.mark.parametrize(("reason", "reference", "message"), [
    ("", COURT, "needs a reason and a legal reference"),
    ("Dispute", "  ", "needs a reason and a legal reference"),
    ("Dispute", COURT, "already under a legal hold"),
])
def test_placing_is_refused_with_a_clear_message(compliance_officer, reason, reference, message):
    hold = LegalHoldFactory(legal_reference=COURT)
    with pytest.raises(ValidationError, match=message):
        legal_hold_place(subject=hold.subject, reason=reason, legal_reference=reference, actor=compliance_officer)
    assert LegalHold.objects.count() == 1


def test_releasing_needs_a_reason_and_happens_once(compliance_officer):
    hold = LegalHoldFactory()
    with pytest.raises(ValidationError, match="Say why"):
        legal_hold_release(hold=hold, reason=" ", actor=compliance_officer)
    legal_hold_release(hold=hold, reason="Case closed", actor=compliance_officer)
    with pytest.raises(ValidationError, match=r"already released on .* by nodira"):
        legal_hold_release(hold=hold, reason="Again", actor=compliance_officer)


def test_the_database_refuses_a_second_active_hold_for_the_same_reference():
    from django.db import IntegrityError, transaction

    hold = LegalHoldFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        LegalHoldFactory(subject=hold.subject, legal_reference=hold.legal_reference)
