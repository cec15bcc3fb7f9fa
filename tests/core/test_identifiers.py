import pytest
from django.core.exceptions import ValidationError

from shipex_privacy.core import identifiers
from shipex_privacy.core.masking import mask_contact, mask_email, mask_passport, mask_phone, mask_pinfl

GOOD_PHONES = [
    ("+998 90 123 45 67", "+998901234567"),
    ("90 123-45-67", "+998901234567"),
    ("998901234567", "+998901234567"),
    ("901234567", "+998901234567"),
    ("(90) 1234567", "+998901234567"),
    ("+998 71 200 00 00", "+998712000000"),
    ("+7 912 345 67 89", "+79123456789"),  # a customer with a Russian number
]
BAD_PHONES = ["12345", "+99890123456", "90 123 45 6", "phone", "+998 90 123 45 67 89", ""]


@pytest.mark.parametrize(("typed", "stored"), GOOD_PHONES)
def test_phone_typed_any_common_way_is_stored_in_e164(typed, stored):
    assert identifiers.normalise_phone(typed) == stored


@pytest.mark.parametrize("typed", BAD_PHONES)
def test_invalid_phone_is_refused(typed):
    with pytest.raises(ValidationError) as error:
        identifiers.normalise_phone(typed)
    assert error.value.code == "invalid_phone"


# 13 digits, then the check digit: weights 7, 3, 1 repeating, sum mod 10.
VALID_PINFLS = ["31505900140019", "42101898082144", "52302051230018"]


def test_check_digit_follows_weights_7_3_1():
    first_thirteen = "3150590014001"
    weighted = sum(int(d) * (7, 3, 1)[i % 3] for i, d in enumerate(first_thirteen))
    assert identifiers.pinfl_check_digit(first_thirteen) == weighted % 10


@pytest.mark.parametrize("pinfl", VALID_PINFLS)
def test_valid_pinfl_passes_format_and_check_digit(pinfl):
    assert identifiers.normalise_pinfl(pinfl) == pinfl
    assert identifiers.pinfl_check_digit_matches(pinfl)


@pytest.mark.parametrize(
    ("typed", "stored"), [("3150 5900 1400 19", "31505900140019"), ("31505900-140019", "31505900140019")]
)
def test_pinfl_spaces_and_dashes_are_dropped(typed, stored):
    assert identifiers.normalise_pinfl(typed) == stored


@pytest.mark.parametrize(
    "typed", ["3150590014001", "315059001400177", "3150590014001A", "３１５０５９００１４００１", "3150590014001²",
              "31505900140019\n1"]
)
def test_pinfl_must_be_fourteen_digits(typed):
    with pytest.raises(ValidationError) as error:
        identifiers.normalise_pinfl(typed)
    assert error.value.code == "invalid_pinfl"


def test_a_mistyped_pinfl_fails_only_the_check_digit():
    mistyped = "31505900140017"
    assert identifiers.normalise_pinfl(mistyped) == mistyped
    assert not identifiers.pinfl_check_digit_matches(mistyped)


@pytest.mark.parametrize(
    ("typed", "stored"), [("AA1234567", "AA1234567"), ("aa 1234567", "AA1234567"), ("AB-7654321", "AB7654321")]
)
def test_passport_is_two_latin_letters_and_seven_digits(typed, stored):
    assert identifiers.normalise_passport(typed) == stored


@pytest.mark.parametrize("typed", ["A1234567", "AA123456", "AA12345678", "АА1234567", "121234567", "AAA234567"])
def test_invalid_passport_is_refused(typed):  # "АА" above is Cyrillic
    with pytest.raises(ValidationError) as error:
        identifiers.normalise_passport(typed)
    assert error.value.code == "invalid_passport"


# Full-width (an East Asian keyboard, a pasted PDF) and Arabic-Indic digits (an Arabic or Persian phone
# keyboard) are the same number: stored as ASCII, so that search and uniqueness see one value.
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
EXTENDED_ARABIC_INDIC = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")
OTHER_DIGITS = [FULL_WIDTH, ARABIC_INDIC, EXTENDED_ARABIC_INDIC, DEVANAGARI]


@pytest.mark.parametrize("digits", OTHER_DIGITS)
@pytest.mark.parametrize(
    ("normalise", "typed", "stored"),
    [
        (identifiers.normalise_passport, "AA1234567", "AA1234567"),
        (identifiers.normalise_passport, "ab 765 43 21", "AB7654321"),
        (identifiers.normalise_pinfl, "31505900140019", "31505900140019"),
        (identifiers.normalise_pinfl, "3150 5900 1400 19", "31505900140019"),
        (identifiers.normalise_phone, "+998 90 123 45 67", "+998901234567"),
        (identifiers.normalise_phone, "90 123-45-67", "+998901234567"),
    ],
)
def test_digits_of_any_script_are_stored_as_ascii(normalise, typed, stored, digits):
    other = typed.translate(digits)
    assert other != typed
    assert normalise(other) == stored
    assert normalise(other).isascii()


def test_mixed_scripts_in_one_value_are_one_number():
    assert identifiers.normalise_passport("AA１٢3۴५6７") == "AA1234567"


@pytest.mark.parametrize(
    "typed", ["90 SHIPEX1", "+998 90 CALL NOW", "+998 90 123 45 67 ext. 5", "+998 90 123 45 67;5", "+998901234567\x00"]
)
def test_a_phone_with_letters_or_an_extension_is_refused_not_shortened(typed):
    with pytest.raises(ValidationError) as error:
        identifiers.normalise_phone(typed)
    assert error.value.code == "invalid_phone"


@pytest.mark.parametrize(
    "typed", ["AA1234567\nBB7654321", "AA12345６７8", "ＡＡ1234567", "AA¹234567"]
)
def test_a_passport_with_anything_around_or_inside_it_is_refused(typed):
    with pytest.raises(ValidationError) as error:
        identifiers.normalise_passport(typed)
    assert error.value.code == "invalid_passport"


@pytest.mark.django_db
def test_a_subject_saved_with_other_digits_is_stored_and_found_in_ascii(support_agent):
    from shipex_privacy.audit.services import record_save
    from shipex_privacy.subjects.models import DataSubject
    from tests.subjects.factories import DataSubjectFactory

    subject = DataSubjectFactory(phone="", pinfl="", passport="")
    subject.phone = "+998 90 123 45 67".translate(ARABIC_INDIC)
    subject.pinfl = "31505900140019".translate(FULL_WIDTH)
    subject.passport = "AA1234567".translate(EXTENDED_ARABIC_INDIC)
    record_save(instance=subject, actor=support_agent, reason="DSR #42: numbers typed on an Arabic keyboard")
    stored = DataSubject.objects.values("phone", "pinfl", "passport").get(pk=subject.pk)
    assert stored == {"phone": "+998901234567", "pinfl": "31505900140019", "passport": "AA1234567"}
    for digits in OTHER_DIGITS:
        for term in ("+998 90 123 45 67", "90 123 45 67", "31505900140019"):
            assert list(DataSubject.objects.search(term.translate(digits))) == [subject], term.translate(digits)


@pytest.mark.parametrize(("field", "typed"), [("phone", "+998 (90) 123 - 45 - 67"), ("pinfl", "3150 5900 1400 19"),
                                              ("passport", "AA 123 45 67")])
def test_the_form_field_takes_what_staff_type_and_stores_the_short_form(field, typed):
    from shipex_privacy.subjects.models import DataSubject

    model_field = DataSubject._meta.get_field(field)
    form_field = model_field.formfield()
    assert int(form_field.widget.attrs["maxlength"]) >= len(typed)  # the browser lets them type it
    stored = form_field.clean(typed)
    assert len(stored) <= model_field.max_length


def test_email_is_lower_cased():
    assert identifiers.normalise_email("  Aziz.Karimov@Mail.UZ ") == "aziz.karimov@mail.uz"


@pytest.mark.parametrize(
    ("function", "value", "masked"),
    [
        (mask_phone, "+998901234567", "+998 90 *** ** 67"),
        (mask_phone, "+79123456789", "+7 912 ***-**-89"),
        (mask_pinfl, "31505900140019", "3***********19"),
        (mask_passport, "AA1234567", "AA*****67"),
        (mask_email, "aziz.karimov@mail.uz", "a***@mail.uz"),
        (mask_phone, "", ""),
        (mask_contact, "90 123 45 67", "+998 90 *** ** 67"),
        (mask_contact, "Aziz.Karimov@mail.uz", "A***@mail.uz"),
        (mask_contact, "Chilonzor 9, 14-uy", "C***"),
        (mask_contact, "aziz@mail.uz, +998 90 123 45 67", "a***"),
        (mask_contact, "+998 90 123 45 67 (aziz@mail.uz)", "+***"),
        (mask_contact, "", ""),
    ],
)
def test_masking_keeps_only_what_identifies_the_row(function, value, masked):
    assert function(value) == masked


def test_a_normalised_field_keeps_its_answers_but_never_a_refusal():
    from shipex_privacy.core.fields import PhoneField

    field = PhoneField()
    assert field.to_python("90 123 45 67") == "+998901234567"
    assert field.to_python("+998901234567") == "+998901234567"  # the stored form, from what was kept
    for _ in range(2):
        with pytest.raises(ValidationError):
            field.to_python("90 SHIPEX1")


def test_uzbek_numbers_are_shown_exactly_as_phonenumbers_formats_them():
    """format_phone formats stored Uzbek numbers itself (lists show many a page): the same text as
    phonenumbers' for every two leading digits, and phonenumbers' own answer for everything else."""
    import phonenumbers

    from shipex_privacy.core.identifiers import UZ_E164_RE, format_phone

    numbers = [f"+998{lead:02d}{tail}" for lead in range(100) for tail in ("1234567", "0000000", "9876543")]
    numbers += ["+99890123456", "+9989012345678", "+79161234567", "+998 90 123 45 67", "not a phone"]
    fast = 0
    for number in numbers:
        try:
            expected = phonenumbers.format_number(phonenumbers.parse(number, None),
                                                  phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        except phonenumbers.NumberParseException:
            expected = number
        assert format_phone(number) == expected, number
        fast += bool(UZ_E164_RE.fullmatch(number))
    assert fast == 52 * 3  # 20, 33 and 50–99 take the direct way
