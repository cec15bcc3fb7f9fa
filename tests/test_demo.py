"""`make demo`'s data commands, in the Makefile's order, on an empty database: what a newcomer sees first."""

from io import StringIO

import pytest
from django.core.management import call_command

from shipex_privacy.consents.models import Consent, PolicyVersion
from shipex_privacy.disclosures.models import DisclosedSubject, Disclosure
from shipex_privacy.protection.models import Incident, Measure
from shipex_privacy.retention.models import RetentionRun
from shipex_privacy.rights_requests.models import AccessPackage, ErasureItem, SubjectRequest
from shipex_privacy.subjects.models import ServiceUse

DEMO_COMMANDS = ("load_demo_data", "load_demo_consents", "load_demo_disclosures", "load_demo_requests",
                 "load_demo_protection", "load_demo_retention")

pytestmark = pytest.mark.django_db


def test_the_demo_loads_and_the_agent_has_a_queue_of_requests_in_every_state(settings):
    settings.DEBUG = True
    for command in DEMO_COMMANDS:
        call_command(command, stdout=StringIO())

    statuses = set(SubjectRequest.objects.values_list("status", flat=True))
    assert statuses == set(SubjectRequest.Status.values) - {"waiting"}
    assert SubjectRequest.objects.overdue().exists() and SubjectRequest.objects.filter(paused_at__isnull=False).exists()
    assert AccessPackage.objects.count() == 1
    assert ErasureItem.objects.filter(outcome="task", task_done_at__isnull=True).exists()

    # Every red state of the product is there to see.
    assert Measure.objects.overdue().count() >= 2
    assert DisclosedSubject.objects.notifications_overdue().exists()
    assert set(Incident.objects.values_list("status", flat=True)) == {"open", "contained", "closed"}
    assert RetentionRun.objects.filter(status="finished", dry_run=False).count() == 1

    counts = {model: model.objects.count() for model in (SubjectRequest, Consent, ServiceUse, Disclosure, Incident,
                                                         RetentionRun, Measure)}
    out = StringIO()
    for command in DEMO_COMMANDS:  # `make demo` a second time: nothing fails, nothing is added
        call_command(command, stdout=out)
    assert "already present" in out.getvalue()
    assert counts == {model: model.objects.count() for model in counts}


def test_the_demo_content_reads_like_the_real_product(settings):
    settings.DEBUG = True
    for command in DEMO_COMMANDS[:-1]:  # all but the retention run
        call_command(command, stdout=StringIO())

    published = PolicyVersion.objects.filter(published_at__isnull=False)
    assert published.count() == 2 and all(len(version.text_ru) > 2000 for version in published)
    assert Consent.objects.values("purpose").distinct().count() >= 2
    assert ServiceUse.objects.values("subject").distinct().count() < ServiceUse.objects.count()  # several each
    handover = Disclosure.objects.get(ground="1.4.3.2", status="submitted")
    assert handover.ground_holds(), handover.check_ground()
    login = Measure.objects.get(title="Login protection for staff accounts")
    assert login.status == Measure.Status.IN_PLACE and not login.is_review_overdue()


def test_the_demo_commands_refuse_without_debug(settings):
    from django.core.management import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError, match="only with DEBUG on"):
        call_command("load_demo_requests")
