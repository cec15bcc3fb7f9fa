"""Rules a data subject holds on the model: one account-id pattern, plausible birth dates."""

import contextlib
import string
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import example, given
from hypothesis import strategies as st

from shipex_privacy.audit.services import record_save
from shipex_privacy.subjects.models import ACCOUNT_ID_RE, DataSubject, normalise_account_id
from tests.subjects.factories import DataSubjectFactory


@pytest.mark.parametrize(("typed", "stored"), [
    ("SX1000001", "SX1000001"),
    ("sx1000001", "SX1000001"),
    ("SX 1000 001", "SX1000001"),
    ("  sx-1000-001 ", "SX1000001"),
    ("SX\u20101000001", "SX1000001"),           # a typographic hyphen
    ("ＳＸ１０００００１", "SX1000001"),          # full-width letters and digits
    ("SX١٠٠٠٠٠١", "SX1000001"),                 # Arabic-Indic digits, as in every identifier
    ("sx ۱۰۰۰ ۰۰۱", "SX1000001"),               # Persian (Eastern Arabic-Indic) digits
    ("SX1234567890", "SX1234567890"),
    ("erased-17", "ERASED-17"),                 # retention's mark stays as it is
])
def test_account_ids_typed_any_way_are_stored_in_one_form(typed, stored):
    assert normalise_account_id(typed) == stored


@pytest.mark.parametrize("typed", [
    "fz-lower", "<b>x</b>", "SX", "SX123456", "SX12345678901", "XS1000001", "SX1000001X", "SX²000001",
    "SX①000001", "SX1000\u0000001", "", "   ", "SX 1000 001; DROP TABLE", "1000001",
])
def test_account_ids_that_fit_no_pattern_are_refused(typed):
    with pytest.raises(ValidationError) as error:
        normalise_account_id(typed)
    assert error.value.code == "invalid_account_id"


@given(st.text(max_size=60))
@example("SX 1000 001")
@example("\x00")
@example("ß" * 30)
def test_any_text_gives_a_stored_form_or_a_clean_refusal(typed):
    try:
        stored = normalise_account_id(typed)
    except ValidationError as error:
        assert error.code == "invalid_account_id"
        return
    assert stored == normalise_account_id(stored)  # normalising twice changes nothing
    assert ACCOUNT_ID_RE.fullmatch(stored) or stored.startswith("ERASED-")
    assert len(stored) <= DataSubject._meta.get_field("account_id").max_length


# Zero of each script whose digits staff may paste: ASCII, Arabic-Indic, Persian, full-width.
DIGIT_ZEROS = [0x30, 0x660, 0x6F0, 0xFF10]


@given(st.from_regex(r"SX[0-9]{7,10}", fullmatch=True),
       st.lists(st.sampled_from([" ", "-", "\t", "\u2013"]), max_size=3), st.booleans(),
       st.lists(st.sampled_from(DIGIT_ZEROS), min_size=10, max_size=10))
def test_every_valid_id_survives_separators_case_and_other_scripts_digits(account_id, separators, lower, zeros):
    digits = "".join(chr(zero + int(digit)) for zero, digit in zip(zeros, account_id[2:], strict=False))
    typed = "".join(separators) + account_id[:2] + digits[:2] + "".join(separators) + digits[2:]
    assert normalise_account_id(typed.lower() if lower else typed) == account_id


@given(st.text(alphabet=string.ascii_letters + string.digits + " -", max_size=20))
def test_the_ascii_an_agent_can_type_never_raises_anything_else(typed):
    with contextlib.suppress(ValidationError):
        normalise_account_id(typed)


@pytest.mark.django_db
@pytest.mark.parametrize(("typed", "stored"), [
    ("fz-lower", None), ("<b>x</b>", None), ("SX 1000 001", "SX1000001"), ("sx1000002", "SX1000002"),
])
def test_the_model_stores_only_ids_the_search_finds(support_agent, typed, stored):
    subject = DataSubjectFactory.build(account_id=typed, email="dilnoza@mail.uz")
    if stored is None:
        with pytest.raises(ValidationError) as error:
            record_save(instance=subject, actor=support_agent, reason="DSR #9: registered by phone")
        assert list(error.value.message_dict) == ["account_id"]
        assert not DataSubject.objects.exists()
        return
    record_save(instance=subject, actor=support_agent, reason="DSR #9: registered by phone")
    assert DataSubject.objects.get().account_id == stored
    for term in (typed, stored, stored.lower(), f" {stored[:5]} {stored[5:]} "):
        assert list(DataSubject.objects.search(term)) == [subject], term


@pytest.mark.django_db
def test_the_erased_mark_is_only_the_subjects_own(support_agent):
    subject = DataSubjectFactory()
    subject.account_id = f"ERASED-{subject.pk + 1}"
    with pytest.raises(ValidationError) as error:
        record_save(instance=subject, actor=support_agent, reason="Trying another subject's mark")
    assert "account_id" in error.value.message_dict
    newcomer = DataSubjectFactory.build(account_id="ERASED-1")
    with pytest.raises(ValidationError):
        newcomer.full_clean()


@pytest.mark.django_db
@pytest.mark.parametrize(("birth_date", "accepted"), [
    (date(1899, 12, 31), False),
    (date(1, 1, 1), False),
    (date(1900, 1, 1), True),
    (None, True),
    ("today", True),
    ("tomorrow", False),
    (date(9999, 12, 31), False),
])
def test_birth_dates_in_the_future_or_before_1900_are_refused(support_agent, birth_date, accepted):
    today = timezone.localdate()
    birth_date = {"today": today, "tomorrow": today + timedelta(days=1)}.get(birth_date, birth_date)
    subject = DataSubjectFactory()
    before = subject.birth_date
    subject.birth_date = birth_date
    if accepted:
        record_save(instance=subject, actor=support_agent, reason="DSR #3: birth date from the passport")
        subject.refresh_from_db()
        assert subject.birth_date == birth_date
        return
    with pytest.raises(ValidationError) as error:
        record_save(instance=subject, actor=support_agent, reason="DSR #3: birth date from the passport")
    assert "birth_date" in error.value.message_dict
    subject.refresh_from_db()
    assert subject.birth_date == before


@pytest.mark.django_db
@pytest.mark.parametrize(("typed", "found"), [
    ("SX1000777", True), ("sx 1000 777", True), ("ＳＸ1000777", True), ("SX1000778", False), ("<b>x</b>", False),
    ("", False), ("SX1000777' OR 1=1 --", False),
])
def test_lookups_by_account_id_read_it_as_the_model_stored_it(typed, found):
    subject = DataSubjectFactory(account_id="SX1000777")
    assert list(DataSubject.objects.with_account_id(typed)) == ([subject] if found else [])
