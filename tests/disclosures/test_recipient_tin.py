"""A recipient's TIN (STIR) is nine ASCII digits, however it was typed; anything else is refused clearly."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import example, given
from hypothesis import strategies as st

from shipex_privacy.audit.services import record_save
from shipex_privacy.core.identifiers import TIN_RE, normalise_tin
from shipex_privacy.disclosures.models import Recipient
from tests.disclosures.factories import RecipientFactory


@pytest.mark.parametrize(("typed", "stored"), [
    ("305123456", "305123456"),
    ("305 123 456", "305123456"),
    ("305-123-456", "305123456"),
    ("３０５１２３４５６", "305123456"),   # full-width digits
    ("٣٠٥١٢٣٤٥٦", "305123456"),          # Arabic-Indic digits: \d let them through as typed
    ("۳۰۵۱۲۳۴۵۶", "305123456"),          # Persian digits
])
def test_a_tin_typed_any_way_is_stored_as_nine_ascii_digits(typed, stored):
    assert normalise_tin(typed) == stored


@pytest.mark.parametrize("typed", ["30512345", "3051234567", "30512345²", "30512345①", "305l23456", "<b>1</b>",
                                   "305123456\x00", "+305123456"])
def test_anything_else_is_refused_clearly(typed):
    with pytest.raises(ValidationError) as error:
        normalise_tin(typed)
    assert error.value.code == "invalid_tin"


@given(st.text(max_size=30))
@example("٣٠٥١٢٣٤٥٦")
def test_any_text_gives_nine_ascii_digits_or_a_clean_refusal(typed):
    try:
        stored = normalise_tin(typed)
    except ValidationError as error:
        assert error.code == "invalid_tin"
        return
    assert TIN_RE.fullmatch(stored) and stored.isascii()
    assert normalise_tin(stored) == stored


@pytest.mark.django_db
def test_the_recipient_stores_the_ascii_form_and_is_found_by_it(compliance_officer):
    recipient = RecipientFactory.build(tin="٣٠٥ ١٢٣ ٤٥٦")
    record_save(instance=recipient, actor=compliance_officer, reason="New processor, DPA-2026/301")
    assert Recipient.objects.get(tin="305123456") == recipient
    assert recipient.history.latest().tin == "305123456"


@pytest.mark.django_db
def test_a_recipient_with_a_bad_tin_is_refused_and_nothing_is_saved(compliance_officer):
    recipient = RecipientFactory.build(tin="30512345²")
    with pytest.raises(ValidationError) as error:
        record_save(instance=recipient, actor=compliance_officer, reason="New processor")
    assert list(error.value.message_dict) == ["tin"]
    assert not Recipient.objects.exists()


@pytest.mark.django_db
def test_a_foreign_recipient_may_have_no_tin(compliance_officer):
    recipient = RecipientFactory.build(tin="", country="DE")
    record_save(instance=recipient, actor=compliance_officer, reason="Foreign processor")
    assert Recipient.objects.get().tin == ""
