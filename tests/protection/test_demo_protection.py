"""`load_demo_protection`: a responsible unit with its predecessor, and a level for every system."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from shipex_privacy.catalogue.models import System
from shipex_privacy.protection.models import ProtectionLevel, ResponsiblePerson

pytestmark = pytest.mark.django_db


def test_the_demo_seeds_the_responsible_unit_and_a_level_per_system(settings):
    settings.DEBUG = True
    call_command("load_demo_protection", stdout=StringIO())
    current = ResponsiblePerson.objects.current()
    assert current.kind == "unit" and current.order_number == "47-P"
    assert ResponsiblePerson.objects.filter(until__isnull=False).count() == 1  # the person it replaced stays
    assert set(ProtectionLevel.objects.values_list("system__code", flat=True)) == set(
        System.objects.values_list("code", flat=True))
    assert ProtectionLevel.objects.overdue().exists()  # the home page has something to show
    assert {row.history_change_reason for row in ProtectionLevel.history.all()} == {
        "Demo data (load_demo_protection)"}

    out = StringIO()
    call_command("load_demo_protection", stdout=out)  # a second run adds nothing
    assert "already present" in out.getvalue()


def test_the_demo_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="only with DEBUG on"):
        call_command("load_demo_protection")
