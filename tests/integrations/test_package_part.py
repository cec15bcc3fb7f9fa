"""A system's answered part of an access package is its own section; "held elsewhere" keeps the others."""

import pytest

from shipex_privacy.catalogue.models import PersonalDataField, System
from shipex_privacy.integrations.models import SystemTask
from shipex_privacy.integrations.services import integration_create, system_task_answer
from tests.integrations.factories import make_api_client
from tests.rights_requests.factories import build_package
from tests.rights_requests.test_access_package import access_request, contents, subject_with_everything
from tests.rights_requests.test_access_package_golden import html_outline

pytestmark = pytest.mark.django_db

PART = [
    {"title": "Deliveries <2026>", "records": [{"parcel": "UZ-1001", "delivered_on": "2026-11-02", "signed": True},
                                              {"parcel": "UZ-1002", "delivered_on": None, "cod": 125000}]},
    {"title": "Returns", "records": []},
]


def elsewhere_systems() -> list[System]:
    """The systems that hold catalogue entries not bound here, alphabetically."""
    return list(System.objects.filter(fields__binding="").distinct().order_by("name"))


@pytest.fixture
def integrated(settings):
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = True
    answering, silent, refusing = elsewhere_systems()[:3]
    for system in (answering, silent, refusing):
        integration_create(system=system, webhook_url="http://127.0.0.1:9/hook", kinds=["access"], actor=None)
    return answering, silent, refusing


def answer(task: SystemTask, outcome: str, data: dict) -> None:
    client, _secret = make_api_client(system=task.system, scopes=["tasks:answer"])
    system_task_answer(task=task, client=client, outcome=outcome, data=data)


def test_a_systems_part_is_its_own_section_and_only_silent_systems_stay_held_elsewhere(support_agent, integrated):
    answering, silent, refusing = integrated
    request = access_request(support_agent, subject_with_everything(support_agent, preferred_language="en"))
    tasks = {task.system_id: task for task in SystemTask.objects.filter(request=request)}
    answer(tasks[answering.pk], "done", {"part": PART})
    answer(tasks[refusing.pk], "refused", {"reason": "The subject has no account with us."})

    package = build_package(request, support_agent)
    data, page, _names = contents(package)

    [code] = data["answered_by_systems"]
    given = data["answered_by_systems"][code]
    assert code == answering.code and given["system"]["name"] == answering.name
    assert given["part"] == PART
    outline = html_outline(page)
    anchor = f"system-{answering.code}"
    assert (anchor, answering.name) in outline["sections"]
    assert (f"#{anchor}", answering.name) in outline["nav"]
    assert outline["headings"][anchor] == ["Deliveries <2026>", "Returns"]
    assert outline["tables"][anchor] == [(["cod", "delivered_on", "parcel", "signed"], 2), ([], 0)]
    assert "Deliveries &lt;2026&gt;" in page and "UZ-1002" in page
    # Held elsewhere: the systems that gave nothing (silent, refused, not integrated), never the one that answered.
    unbound = PersonalDataField.objects.filter(binding="").select_related("system")
    assert set(data["held_elsewhere"]) == {entry.code for entry in unbound if entry.system_id != answering.pk}
    held_by = {entry.system_id for entry in unbound if entry.code in data["held_elsewhere"]}
    assert {silent.pk, refusing.pk} <= held_by
    assert not [heading for heading in outline["headings"]["elsewhere"]
                if heading.removeprefix("entry-") in {e.code for e in unbound if e.system_id == answering.pk}]
    # The system's records count with the others.
    without = build_package(access_request(support_agent, subject_with_everything(support_agent)), support_agent)
    assert package.record_count == without.record_count + 2 == data["record_count"]


def test_without_any_answer_the_package_has_no_systems_part(support_agent, integrated):
    request = access_request(support_agent, subject_with_everything(support_agent, preferred_language="en"))

    data, page, _names = contents(build_package(request, support_agent))

    assert "answered_by_systems" not in data
    assert not [anchor for anchor, _title in html_outline(page)["sections"] if anchor.startswith("system-")]
    assert set(data["held_elsewhere"]) == set(
        PersonalDataField.objects.filter(binding="").values_list("code", flat=True))
