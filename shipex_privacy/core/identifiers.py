"""Uzbek identifiers: normalise what staff type, refuse what cannot be right.

Every function that normalises returns the single stored form (phone in E.164, PINFL as 14
digits, passport as ``AA1234567``, TIN as 9 digits, e-mail lower-cased) so that searches are exact
lookups.

Digits typed in another script (full-width ``１２３``, Arabic-Indic ``١٢٣``…) are the same
number: they are turned into ASCII digits first, and every pattern below says ``[0-9]``, never
``\\d``, which in Python matches any Unicode digit and would let them through as typed.
"""

import re
import unicodedata

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

DEFAULT_PHONE_REGION = "UZ"
PINFL_LENGTH = 14
PINFL_WEIGHTS = (7, 3, 1)
EMAIL_MAX_LENGTH = 254  # RFC 5321's limit for an address in a mail path, and the column's length
PASSPORT_RE = re.compile(r"[A-Z]{2}[0-9]{7}")
PINFL_RE = re.compile(r"[0-9]{14}")
TIN_RE = re.compile(r"[0-9]{9}")
# What a phone number may be typed with once its digits are ASCII: no letters (phonenumbers would
# read "90 SHIPEX1" as a keypad word) and no extension (E.164 would silently drop it).
PHONE_CHARACTERS_RE = re.compile(r"[0-9\s().+-]+")
SEPARATORS_RE = re.compile(r"[\s-]")
# An Uzbek number as stored, in the one national pattern phonenumbers formats as "XX XXX XX XX"
# (its UZ metadata: general (?:20|33|[5-9]\d)\d{7}, leading digits [235-9]). Lists show 50 of
# them a page; formatting these directly gives phonenumbers' text at a tenth of its cost.
UZ_E164_RE = re.compile(r"\+998(20|33|[5-9][0-9])([0-9]{3})([0-9]{2})([0-9]{2})")


def ascii_digits(value: str) -> str:
    """``value`` with every decimal digit of any script (what ``\\d`` matches) as its ASCII digit."""
    if value.isascii():  # nearly every value: nothing to convert, and this runs for every identifier of a batch
        return value
    return "".join(str(unicodedata.decimal(char)) if char.isdecimal() else char for char in value)


def normalise_phone(value: str) -> str:
    """Return the number in E.164 (``+998901234567``); Uzbek numbers may omit the country code."""
    typed = ascii_digits(value)
    try:
        number = phonenumbers.parse(typed, DEFAULT_PHONE_REGION) if PHONE_CHARACTERS_RE.fullmatch(typed) else None
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _("“%(value)s” is not a valid phone number. Example: +998 90 123 45 67."),
            code="invalid_phone",
            params={"value": value},
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    """Show a stored E.164 number the way people read it: ``+998 90 123 45 67``."""
    if uzbek := UZ_E164_RE.fullmatch(e164):
        return "+998 " + " ".join(uzbek.groups())
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def normalise_pinfl(value: str) -> str:
    """Return the 14 digits of a PINFL (JShShIR), refusing anything else. The check digit is separate."""
    digits = ascii_digits(SEPARATORS_RE.sub("", value))
    if not PINFL_RE.fullmatch(digits):
        raise ValidationError(
            _("A PINFL has exactly 14 digits; “%(value)s” does not."),
            code="invalid_pinfl",
            params={"value": value},
        )
    return digits


def pinfl_check_digit(first_thirteen: str) -> int:
    """Check digit of a PINFL: weights 7, 3, 1 repeating over the first 13 digits, sum mod 10.

    The algorithm is not officially published; a mismatch is a warning staff may override.
    """
    return sum(int(d) * PINFL_WEIGHTS[i % 3] for i, d in enumerate(first_thirteen)) % 10


def pinfl_check_digit_matches(pinfl: str) -> bool:
    return pinfl_check_digit(pinfl[:13]) == int(pinfl[13])


def normalise_passport(value: str) -> str:
    """Return an Uzbek passport number as two Latin capitals and seven digits: ``AA1234567``."""
    compact = ascii_digits(SEPARATORS_RE.sub("", value)).upper()
    if not PASSPORT_RE.fullmatch(compact):
        raise ValidationError(
            _("A passport number is two Latin letters and seven digits (AA1234567); “%(value)s” is not."),
            code="invalid_passport",
            params={"value": value},
        )
    return compact


def normalise_tin(value: str) -> str:
    """Return the nine digits of an Uzbek TIN (STIR), typed with spaces or dashes or any script's digits."""
    digits = ascii_digits(SEPARATORS_RE.sub("", value))
    if not TIN_RE.fullmatch(digits):
        raise ValidationError(
            _("A TIN (STIR) has nine digits; “%(value)s” does not."),
            code="invalid_tin",
            params={"value": value[:40]},
        )
    return digits


def normalise_email(value: str) -> str:
    """Return the e-mail address lower-cased, so that search in any case is one exact lookup."""
    address = value.strip().lower()
    if len(address) > EMAIL_MAX_LENGTH:
        raise ValidationError(_("An e-mail address has at most %(max)s characters."), code="invalid",
                              params={"max": EMAIL_MAX_LENGTH})
    validate_email(address)
    return address
