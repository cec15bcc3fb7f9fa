"""Each integrated system's own part of an access package, as the system answered its task (issue 12).

A system that answered its access task with its part gets a section of its own, titled by its name:
its sub-sections and records in the page, and the same under ``answered_by_systems`` (by system code)
in ``data.json``. The catalogue's "held elsewhere" section then leaves out the entries of the
systems that answered (``ANSWERED_SYSTEMS``) and lists only those still to be asked.
"""

from django.utils.translation import gettext as _

from shipex_privacy.rights_requests.package_catalogue import ANSWERED_SYSTEMS
from shipex_privacy.rights_requests.package_sections import PackageSection, register_package_section

from .models import SystemTask

PARTS = "integrations_parts"


def _anchor(task: SystemTask) -> str:
    return f"system-{task.system.code}"


def prepare_system_parts(writer) -> None:
    # A refused task, or one not answered yet, gave no part: that system's data stays "held elsewhere".
    tasks = [task for task in SystemTask.objects.filter(request=writer.request, status=SystemTask.Status.DONE)
             .select_related("system").order_by("system__name", "pk") if task.answer.get("part")]
    writer.state[PARTS] = tasks
    writer.state[ANSWERED_SYSTEMS] = {task.system_id for task in tasks}


def system_parts_toc(writer) -> list[tuple[str, str]]:
    return [(_anchor(task), task.system.shown.name) for task in writer.state.get(PARTS, [])]


def write_system_parts(writer) -> None:
    tasks = writer.state.get(PARTS, [])
    if not tasks:
        return  # nothing answered: the package is what it is without integrations
    writer.json.begin("answered_by_systems")
    for task in tasks:
        system = task.system
        writer.section(_anchor(task), system.shown.name, _(
            "The data %(system)s holds about you, as that system gave it on %(date)s.") % {
            "system": system.shown.name, "date": writer.shown(task.answered_at)})
        writer.json.begin(system.code)
        writer.json.put({"code": system.code, "name": system.name, "owner": system.owner,
                         "country": system.country}, "system")
        writer.json.put(writer.plain(task.answered_at), "answered_at")
        writer.json.begin("part", "[")
        for part in task.answer["part"]:
            _write_part(writer, part)
        writer.json.end("]")
        writer.json.end()
        writer.end_section()
    writer.json.end()


def _write_part(writer, part: dict) -> None:
    """One titled list of the system's records: the columns are every key its records use, A to Z
    (PostgreSQL's JSON keeps no key order, so the system's own order is not known)."""
    records = part["records"]
    columns = sorted({key for record in records for key in record})
    writer.json.put({"title": part["title"], "records": records})
    writer.heading(part["title"])
    writer.table(*columns)
    for record in records:
        writer.row(*(writer.shown(record.get(column)) for column in columns))
    writer.end_table(len(records), max(len(columns), 1))
    writer.counted(len(records))


register_package_section(PackageSection(
    key="integrations.system_parts", order=80, write=write_system_parts, prepare=prepare_system_parts,
    toc=system_parts_toc))
