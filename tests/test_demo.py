"""`make demo`'s data commands, in the Makefile's order, on an empty database: what a newcomer sees first."""

from io import StringIO

import pytest
from django.core.management import call_command

from shipex_privacy.rights_requests.models import AccessPackage, ErasureItem, SubjectRequest

pytestmark = pytest.mark.django_db


def test_the_demo_loads_and_the_agent_has_a_queue_of_requests_in_every_state(settings):
    settings.DEBUG = True
    for command in ("load_demo_data", "load_demo_consents", "load_demo_disclosures", "load_demo_requests",
                    "load_demo_protection"):
        call_command(command, stdout=StringIO())

    statuses = set(SubjectRequest.objects.values_list("status", flat=True))
    assert statuses == set(SubjectRequest.Status.values) - {"waiting"}
    assert SubjectRequest.objects.overdue().exists() and SubjectRequest.objects.filter(paused_at__isnull=False).exists()
    assert AccessPackage.objects.count() == 1
    assert ErasureItem.objects.filter(outcome="task", task_done_at__isnull=True).exists()

    out = StringIO()
    call_command("load_demo_requests", stdout=out)  # a second run adds nothing
    assert "already present" in out.getvalue()


def test_the_demo_commands_refuse_without_debug(settings):
    from django.core.management import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError, match="only with DEBUG on"):
        call_command("load_demo_requests")
