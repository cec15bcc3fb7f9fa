"""``manage.py apply_retention``: thin, with a progress bar and a summary per rule."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from shipex_privacy.retention.models import RetentionRun
from shipex_privacy.subjects.models import Address, DataSubject
from tests.retention.factories import closed_with_records

pytestmark = pytest.mark.django_db


def run_command(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("apply_retention", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def row(text: str, rule: str, model: str) -> list[str]:
    line = next(line for line in text.splitlines() if re.match(rf"{re.escape(rule)}\s+{re.escape(model)}\s", line))
    return line.split()


def test_the_dry_run_lists_what_would_happen_and_changes_nothing():
    subject = closed_with_records()
    addresses = sorted(Address.objects.filter(subject=subject).values_list("pk", flat=True))

    out, err = run_command("--dry-run")

    assert "nothing was changed. A run now would:" in out
    assert "would delete" in out and "would anonymise" in out
    assert row(out, "account-3y", "subjects.Address") == [
        "account-3y", "subjects.Address", "2", "2", "0", "0", "0", *(f"#{pk}," for pk in addresses[:-1]),
        f"#{addresses[-1]}"]
    assert row(out, "account-3y", "subjects.DataSubject")[2:8] == ["1", "0", "1", "0", "0", f"#{subject.pk}"]
    assert "customs-5y · subjects.DataSubject: The clock (when the shipment is delivered) is not held" in out
    assert "100%" in err and "[" in err
    assert Address.objects.filter(subject=subject).count() == 2
    assert RetentionRun.objects.get().dry_run


def test_the_run_prints_its_summary_and_names_the_staff_member_given(compliance_officer):
    subject = closed_with_records()

    out, _err = run_command("--as", "nodira", "--batch-size", "1")

    assert f"Retention run #{RetentionRun.objects.get().pk}:" in out
    assert "Deleted: 4; anonymised: 1; kept under a legal hold: 0." in out
    assert DataSubject.history.filter(id=subject.pk).latest().history_username == "nodira"
    assert RetentionRun.objects.get().started_by == "nodira"


def test_without_as_the_scheduler_runs_it():
    run_command()
    assert RetentionRun.objects.get().started_by == "scheduler"


def test_an_unknown_staff_member_is_refused():
    with pytest.raises(CommandError, match="No active staff member 'nobody'"):
        run_command("--as", "nobody")
    assert not RetentionRun.objects.exists()


def test_failed_records_end_the_command_with_an_error(monkeypatch):
    subject = closed_with_records()

    def boom(instance, *args, **kwargs):  # writing any subject fails, in its batch and on its own
        raise RuntimeError("boom")

    monkeypatch.setattr(DataSubject, "full_clean", boom)

    with pytest.raises(CommandError, match=rf"subjects.DataSubject #{subject.pk} \(account-3y\): RuntimeError: boom"):
        run_command()
    assert RetentionRun.objects.get().status == RetentionRun.Status.FAILED
