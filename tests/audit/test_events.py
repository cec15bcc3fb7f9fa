"""Every audited write names a typed actor and a typed event; the trail is filtered by the event."""

import ast
from pathlib import Path

import pytest
from django.urls import reverse

from shipex_privacy.audit.events import AuditEvent, SystemActor
from shipex_privacy.audit.models import TrailEntry
from shipex_privacy.audit.services import record_save
from shipex_privacy.rights_requests.models import SubjectRequest
from shipex_privacy.rights_requests.services import request_receive
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db

SOURCE = Path(__file__).resolve().parents[2] / "shipex_privacy"


def entry_of(instance) -> TrailEntry:
    row = instance.history.latest()
    return TrailEntry.objects.get(history_table=row._meta.db_table, history_id=row.history_id)


def test_a_service_stamps_its_event_and_a_staff_actor(support_agent):
    request = request_receive(kind=SubjectRequest.Kind.ACCESS, channel=SubjectRequest.Channel.PHONE,
                              requester_name="Aziz Karimov", requester_contact="+998 90 123 45 67",
                              actor=support_agent)
    entry = entry_of(request)
    assert (entry.event, entry.user_id, entry.username) == (AuditEvent.REQUEST_RECEIVED, support_agent.pk, "jasur")
    assert entry.reason.startswith("Received via")


def test_a_system_actor_is_named_without_a_user_id():
    subject = DataSubjectFactory()
    subject.full_name = "Dilnoza Rahimova"
    record_save(instance=subject, actor=SystemActor("import"), event=AuditEvent.IMPORTED, reason="Nightly import")
    row = subject.history.latest()
    assert (row.history_user_id, row.history_username) == (None, "system:import")
    assert (entry_of(subject).event, entry_of(subject).username) == (AuditEvent.IMPORTED, "system:import")


def test_an_event_that_is_not_typed_is_refused_before_the_write(support_agent):
    subject = DataSubjectFactory()
    before = subject.history.count()
    subject.full_name = "Changed"
    with pytest.raises(ValueError, match="is not a valid AuditEvent"):
        record_save(instance=subject, actor=support_agent, event="subject.renamed", reason="Typo")
    assert subject.history.count() == before


def test_the_trail_filters_by_event_and_exports_it(client, auditor, support_agent):
    subject = DataSubjectFactory()
    subject.full_name = "Edited"
    record_save(instance=subject, actor=support_agent, reason="=HYPERLINK(\"http://evil.example\",\"open\")")
    request_receive(kind=SubjectRequest.Kind.ACCESS, channel=SubjectRequest.Channel.PHONE,
                    requester_name="Aziz Karimov", requester_contact="+998 90 123 45 67", actor=support_agent)
    client.force_login(auditor)

    page = client.get(reverse("admin:audit_trailentry_changelist"), {"event": AuditEvent.REQUEST_RECEIVED})
    assert page.status_code == 200
    assert [entry.event for entry in page.context["cl"].result_list] == [AuditEvent.REQUEST_RECEIVED]

    export = client.get(reverse("admin:audit_trailentry_export"), {"event": AuditEvent.EDITED})
    lines = b"".join(export.streaming_content).decode().splitlines()
    assert lines[0].startswith("\ufeffat,")
    assert len(lines) == 2 and ",record.edited," in lines[1]
    assert ",'=HYPERLINK(" in lines[1].replace('"', "")  # the reason is text, never a formula


def calls_without_event(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    missing = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in {"record_save", "record_delete", "apply_plan", "record_save_many"} and \
                    "event" not in {keyword.arg for keyword in node.keywords}:
                missing.append(f"{path.relative_to(SOURCE)}:{node.lineno}")
    return missing


def test_every_audited_write_of_the_services_names_its_event():
    """The back office's own edits (audit/admin.py) take the generic events; every other write says which."""
    missing = [where for path in sorted(SOURCE.rglob("*.py")) if "migrations" not in path.parts
               and path.name != "admin.py" for where in calls_without_event(path)]
    assert missing == []
