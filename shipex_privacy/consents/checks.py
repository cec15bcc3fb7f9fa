"""System checks of the consents' configuration."""

import re

from django.conf import settings
from django.core import checks

TIN = re.compile(r"[0-9]{9}")


@checks.register("consents")
def check_operator(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Every consent and receipt names the operator and its TIN (model procedure no. 3478)."""
    errors = []
    tin = getattr(settings, "SHIPEX_OPERATOR_TIN", "")
    # fullmatch on [0-9], not isdigit(): "٣٠١٢٣٤٥٦٧" (Arabic-Indic digits) is no TIN either.
    if not isinstance(tin, str) or not TIN.fullmatch(tin):
        errors.append(checks.Error(
            f"SHIPEX_OPERATOR_TIN {tin!r} is not a taxpayer number of 9 digits.",
            hint="Set the SHIPEX_OPERATOR_TIN environment variable to ShipEx's 9-digit TIN (STIR).",
            id="consents.E001"))
    name = getattr(settings, "SHIPEX_OPERATOR_NAME", "")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        errors.append(checks.Error(
            "SHIPEX_OPERATOR_NAME is empty or longer than 200 characters.",
            hint="Set the SHIPEX_OPERATOR_NAME environment variable to ShipEx's legal name.",
            id="consents.E002"))
    return errors
