"""The live race of issue 10: agents re-saving expired subjects while apply_retention runs.

On the old main six agents re-saving six expired subjects during ``apply_retention --batch-size 2``
left three of them with their full personal data although the run counted them anonymised. Now a
save of an erased subject's records reads the subject's state under its row lock, and the run locks
the subject before each record and re-reads it, so every subject the run counts is anonymised.
Real concurrency needs real row locks: PostgreSQL only (SQLite serialises every writer).
"""

import random
import threading
import time
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.models import PersonalDataField, RetentionRule
from shipex_privacy.retention.models import RetentionRun
from shipex_privacy.retention.services import retention_apply
from shipex_privacy.subjects.models import Address, DataSubject
from tests.accounts.factories import StaffFactory
from tests.audit.page_forms import change_form_values
from tests.catalogue.factories import RetentionRuleFactory
from tests.retention.factories import ClosedSubjectFactory
from tests.subjects.factories import AddressFactory, DataSubjectFactory

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql",
                                reason="needs PostgreSQL's row locks; SQLite serialises every writer")

AGENTS = 6


def run_retention_beside(agent, started: threading.Barrier, finished: threading.Event) -> None:
    """One thread per agent, released together with ``apply_retention --batch-size 2``; stopped when it ends."""
    threads = [threading.Thread(target=agent, args=(n,)) for n in range(AGENTS)]
    for thread in threads:
        thread.start()
    started.wait()
    try:
        call_command("apply_retention", "--batch-size", "2")
    finally:
        finished.set()
        for thread in threads:
            thread.join(timeout=60)


@pytest.mark.django_db(transaction=True)
def test_agents_resaving_expired_subjects_during_the_run_never_bring_their_data_back(catalogue):
    subjects = [ClosedSubjectFactory() for _ in range(AGENTS)]
    for subject in subjects:
        AddressFactory(subject=subject)
    agents = [StaffFactory(username=f"agent{n}") for n in range(AGENTS)]
    started, finished = threading.Barrier(AGENTS + 1), threading.Event()
    refused, saved, unexpected = [0] * AGENTS, [0] * AGENTS, []

    def agent(n: int) -> None:
        # What the agent's page holds: the subject and its address as they were before the run.
        page = DataSubject.objects.get(pk=subjects[n].pk)
        address_page = Address.objects.filter(subject=page).first()
        try:
            started.wait()
            while not finished.is_set():
                for stale in (page, address_page):
                    try:
                        record_save(instance=stale, actor=agents[n], reason=f"DSR #{n}: re-saved from the page")
                        saved[n] += 1
                    except ValidationError:
                        refused[n] += 1
                    except Exception as error:  # a deadlock or any other failure fails the test
                        unexpected.append(f"agent {n}: {type(error).__name__}: {error}")
                time.sleep(0.001)
        finally:
            connections.close_all()

    run_retention_beside(agent, started, finished)

    assert unexpected == []
    run = RetentionRun.objects.get(dry_run=False)
    assert run.status == RetentionRun.Status.FINISHED and run.error == ""
    count = run.counts.get(rule__code="account-3y", model="subjects.DataSubject")
    assert (count.expired, count.anonymised, count.failed) == (AGENTS, AGENTS, 0)
    for subject in DataSubject.objects.filter(pk__in=[s.pk for s in subjects]):
        assert (subject.account_id, subject.full_name, subject.phone, subject.email, subject.birth_date) == (
            f"ERASED-{subject.pk}", "", "", "", None)
    assert not Address.objects.filter(subject__in=subjects).exists()
    # And nothing the rule covers came back: a dry run now finds nothing left to anonymise.
    dry = retention_apply(dry_run=True, started_by="test")
    assert dry.counts.get(rule__code="account-3y", model="subjects.DataSubject").expired == 0
    assert sum(saved) == 0 and sum(refused) > 0  # every re-save was refused, none slipped in


@pytest.mark.django_db(transaction=True)
def test_agents_saving_old_pages_of_open_subjects_during_the_run_never_undo_it(catalogue):
    """Open accounts whose name a rule anonymises one year after collection: nothing makes them read
    only, so what stops an agent's old page from writing the name back is the page's version."""
    rule = RetentionRuleFactory(code="name-1y", period=1, clock_starts=RetentionRule.ClockStart.COLLECTED,
                                end_action=RetentionRule.EndAction.ANONYMISE)
    entry = PersonalDataField.objects.get(binding="subjects.DataSubject.full_name")
    entry.retention_rule, entry.requirement = rule, PersonalDataField.Requirement.OPTIONAL
    record_save(instance=entry, actor=None, reason="Test: names go a year after registration")
    subjects = [DataSubjectFactory(registered_at=timezone.now() - timedelta(days=400)) for _ in range(AGENTS)]
    agents = [StaffFactory(username=f"agent{n}", is_superuser=True) for n in range(AGENTS)]
    started, finished = threading.Barrier(AGENTS + 1), threading.Event()
    outcomes, unexpected = [], []

    def agent(n: int) -> None:
        client = Client(raise_request_exception=False)
        client.force_login(agents[n])
        url = reverse("admin:subjects_datasubject_change", args=[subjects[n].pk])
        try:
            # Each agent opens its page before the run starts and saves it at least once: on a busy
            # machine the run could otherwise end before any agent posted, and nothing would be tested.
            values = change_form_values(client.get(url))
            started.wait()
            for attempt in range(1000):
                if attempt:
                    values = change_form_values(client.get(url))
                    if finished.is_set() or not values["full_name"][0]:
                        break  # the page shows the name erased: nothing of it left to write back
                # The agent corrects the e-mail on a page that still shows the name; the run may
                # erase the name before the agent saves.
                values.update(email=[f"agent{n}.{attempt}@mail.uz"], change_reason=[f"DSR #{n}: new e-mail"])
                time.sleep(random.random() / 200)
                response = client.post(url, values)
                if response.status_code >= 500:
                    unexpected.append(f"agent {n}: {response.status_code}")
                outcomes.append(response.status_code)
        finally:
            connections.close_all()

    run_retention_beside(agent, started, finished)

    assert unexpected == []
    run = RetentionRun.objects.get(dry_run=False)
    count = run.counts.get(rule=rule, model="subjects.DataSubject")
    assert (count.expired, count.anonymised, count.failed) == (AGENTS, AGENTS, 0)
    assert list(DataSubject.objects.filter(pk__in=[s.pk for s in subjects]).exclude(full_name="")) == []
    dry = retention_apply(dry_run=True, started_by="test")
    assert dry.counts.get(rule=rule, model="subjects.DataSubject").expired == 0
    assert outcomes  # the agents did post while the run went on
