"""This app's line on the compliance officer's home (core/home.py): databases the state register
takes (art. 20, as of 2026) that have no register number yet.

Systems are a short table (tens of rows), so the count is cheap without an index of its own.
"""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from shipex_privacy.accounts.roles import COMPLIANCE_OFFICER
from shipex_privacy.core.home import HomeItem, capped_count, register_home_item

from .models import System


def register() -> None:
    register_home_item(HomeItem(
        key="catalogue.registration_missing", roles=(COMPLIANCE_OFFICER,),
        title=_("Systems not yet entered in the state register of personal-data databases"),
        permission="catalogue.view_system", order=33, alarm=True,
        count=lambda user: capped_count(System.objects.registration_missing()),
        url=lambda user: reverse("admin:catalogue_system_changelist") + "?registration=missing",
    ))


register()
