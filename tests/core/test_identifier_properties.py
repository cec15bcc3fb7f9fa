"""Property tests of the identifier normalisers: whatever staff type or paste, the answer is the one
stored form (ASCII, valid, a fixed point of the normaliser, fitting its column) or a clean
ValidationError — never another exception.

Run with ``--hypothesis-show-statistics`` to see how many inputs each property tried.
"""

import re

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from shipex_privacy.core import identifiers
from shipex_privacy.subjects.models import DataSubject

EXAMPLES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

E164 = re.compile(r"\+[1-9][0-9]{6,14}")

# Decimal digits of several scripts, the separators people type, and the letters of a passport:
# inputs near the valid ones, which arbitrary text rarely reaches.
DIGITS = "0123456789０１２３４５６７８９٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹०१२३४५६७८९"
near_identifiers = st.text(alphabet=DIGITS + " -+()\u00a0.ABaz²", max_size=24)
SCRIPTS = [DIGITS[i:i + 10] for i in range(0, len(DIGITS), 10)]  # ASCII, full-width, Arabic-Indic…
separators = st.sampled_from(["", "", " ", "-", "\u00a0", " - ", "\t"])


@st.composite
def digits_in_any_script(draw, count: int, first: str = "0123456789") -> str:
    """``count`` digits, each written in a script of its own, with separators between some of them."""
    values = [draw(st.sampled_from(first))] + [draw(st.sampled_from("0123456789")) for _ in range(count - 1)]
    return "".join(draw(st.sampled_from(SCRIPTS))[int(value)] + draw(separators) for value in values).strip()


# Mobile numbers of Uzbek operators (90, 91, 93, 94, 95, 97, 99…) and a Tashkent landline (71).
uzbek_numbers = st.builds(lambda code, rest: code + rest, st.sampled_from(["90", "91", "93", "94", "97", "99", "71"]),
                          st.text(alphabet="0123456789", min_size=7, max_size=7))
near_uzbek_phones = st.one_of(
    st.builds(lambda prefix, number, scripts, spacing: prefix + "".join(
        scripts[i % len(scripts)][int(digit)] + spacing[i % len(spacing)] for i, digit in enumerate(number)).strip(),
        st.sampled_from(["", "+998", "998", "+998 ", "+7", "8"]), uzbek_numbers,
        st.lists(st.sampled_from(SCRIPTS), min_size=1, max_size=3), st.lists(separators, min_size=1, max_size=4)),
    st.builds(lambda prefix, digits, separator: prefix + separator.join(digits),
              st.sampled_from(["", "+998", "998", "8", "+7", "+"]),
              st.lists(st.text(alphabet=DIGITS, min_size=1, max_size=3), min_size=1, max_size=6), separators),
)
near_pinfls = st.one_of(st.sampled_from([13, 14, 14, 14, 15]).flatmap(digits_in_any_script),
                        st.text(alphabet=DIGITS + " -", max_size=20))
near_passports = st.builds(
    lambda letters, separator, digits: letters + separator + digits,
    st.one_of(st.text(alphabet="ABXYZabz", min_size=2, max_size=2), st.text(alphabet="ABCabАВıſ", max_size=3)),
    separators,
    st.one_of(st.sampled_from([6, 7, 7, 7, 8]).flatmap(digits_in_any_script),
              st.text(alphabet=DIGITS + " -", max_size=10)),
)
anything = st.one_of(st.text(), near_identifiers)

# (normaliser, inputs, what the stored form must satisfy, its column)
NORMALISERS = {
    "phone": (identifiers.normalise_phone, st.one_of(anything, near_uzbek_phones), E164.fullmatch),
    "pinfl": (identifiers.normalise_pinfl, st.one_of(anything, near_pinfls),
              identifiers.PINFL_RE.fullmatch),
    "passport": (identifiers.normalise_passport, st.one_of(anything, near_passports),
                 identifiers.PASSPORT_RE.fullmatch),
    "email": (identifiers.normalise_email, st.one_of(anything, st.emails(), st.emails().map(str.upper)),
              lambda value: validate_email(value) is None and value == value.lower()),
}
MODEL_FIELD = {"phone": "phone", "pinfl": "pinfl", "passport": "passport", "email": "email"}


def check(kind: str, typed: str) -> str | None:
    """The stored form of ``typed``, after checking every property of it; None if refused cleanly."""
    normalise, _inputs, valid = NORMALISERS[kind]
    try:
        stored = normalise(typed)
    except ValidationError:
        return None
    assert valid(stored), (typed, stored)
    assert normalise(stored) == stored, (typed, stored)  # idempotent
    if kind != "email":
        assert stored.isascii(), (typed, stored)
    assert len(stored) <= DataSubject._meta.get_field(MODEL_FIELD[kind]).max_length, (typed, stored)
    return stored


EDGES = ["", " ", "\x00", "\u2028", "\ud7ff", "AA１２３４５６７", "+９９８ ９０ １２３ ４５ ６７", "٣١٥٠٥٩٠٠١٤٠٠١٩",
         "x" * 100_000, "9" * 300, "A@B.UZ", "a@" + "b" * 250 + ".uz", "+998 90 123 45 67 ext. 5"]


@pytest.mark.parametrize("kind", NORMALISERS)
@pytest.mark.parametrize("typed", EDGES, ids=range(len(EDGES)))
def test_edge_inputs_are_normalised_or_refused_cleanly(kind, typed):
    check(kind, typed)


@pytest.mark.parametrize("kind", NORMALISERS)
@EXAMPLES
@given(data=st.data())
def test_every_normaliser_returns_a_valid_fixed_point_or_a_validation_error(kind, data):
    stored = check(kind, data.draw(NORMALISERS[kind][1], label="typed"))
    event("refused" if stored is None else "normalised")


@pytest.mark.parametrize("kind", NORMALISERS)
@EXAMPLES
@given(data=st.data())
def test_the_model_field_cleans_to_what_the_normaliser_stores(kind, data):
    """The subject's fields (core/fields.py) store exactly the normaliser's answer, or refuse cleanly."""
    typed = data.draw(NORMALISERS[kind][1], label="typed")
    if not typed or (kind == "email" and not typed.strip()):
        return  # blank=True: an empty value is "not given", nothing to normalise
    expected = check(kind, typed)
    try:
        cleaned = DataSubject._meta.get_field(MODEL_FIELD[kind]).clean(typed, None)
    except ValidationError:
        assert expected is None, typed
        return
    assert cleaned == expected, typed


@EXAMPLES
@given(st.text(alphabet=DIGITS, min_size=14, max_size=14))
def test_a_pinfl_in_any_digits_is_the_pinfl_in_ascii(typed):
    stored = identifiers.normalise_pinfl(typed)
    assert stored == identifiers.ascii_digits(typed)
    assert re.fullmatch(r"\d{14}", typed)  # what \d let through as typed before
