"""Masked forms of identifiers, for lists and for roles that do not need them in full."""

import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from .identifiers import format_phone, normalise_phone

MASK = "*"
PHONE_ONLY = re.compile(r"[\d\s()+-]+")  # a phone number as typed, and nothing else


def mask_phone(e164: str) -> str:
    """``+998901234567`` → ``+998 90 *** ** 67``: country, operator and the last two digits stay."""
    if not e164:
        return ""
    country, operator, tail = [*format_phone(e164).split(" ", 2), "", ""][:3]
    keep_from = len(re.sub(r"\D", "", tail)) - 2
    seen = 0
    masked = []
    for char in tail:
        if char.isdigit():
            masked.append(char if seen >= keep_from else MASK)
            seen += 1
        else:
            masked.append(char)
    return " ".join(part for part in (country, operator, "".join(masked)) if part)


def mask_pinfl(pinfl: str) -> str:
    """``31234567890123`` → ``3***********23``."""
    if not pinfl:
        return ""
    return pinfl[0] + MASK * (len(pinfl) - 3) + pinfl[-2:]


def mask_passport(passport: str) -> str:
    """``AA1234567`` → ``AA*****67``."""
    if not passport:
        return ""
    return passport[:2] + MASK * (len(passport) - 4) + passport[-2:]


def mask_email(email: str) -> str:
    """``aziz.karimov@mail.uz`` → ``a***@mail.uz``."""
    if not email or "@" not in email:
        return email
    local, domain = email.split("@", 1)
    return f"{local[0]}***@{domain}"


def mask_text(text: str) -> str:
    """``Nukus koʻchasi, 5-uy, 12-xonadon`` → ``N***``: for address lines and other free text."""
    if not text:
        return ""
    return f"{text[0]}{MASK * 3}"


def mask_contact(contact: str) -> str:
    """A contact as someone typed it, masked by what it is: one e-mail address, one phone number,
    or anything else (several contacts, an address) masked as free text."""
    contact = (contact or "").strip()
    try:
        validate_email(contact)
        return mask_email(contact)
    except ValidationError:
        pass
    if PHONE_ONLY.fullmatch(contact):
        try:
            return mask_phone(normalise_phone(contact))
        except ValidationError:
            pass
    return mask_text(contact)


# The masks by name, as the catalogue's entries name them (``PersonalDataField.masking``).
MASKERS = {
    "phone": mask_phone, "email": mask_email, "pinfl": mask_pinfl, "passport": mask_passport,
    "text": mask_text, "contact": mask_contact,
}
