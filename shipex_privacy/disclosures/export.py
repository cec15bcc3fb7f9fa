"""The file a disclosure sends (issue 13): exactly the approved fields of the approved subjects.

``plan_export`` reads what the send step previews: the approved catalogue entries held in this
back office (each read through its binding and the held-model registry, the path the access
package and erasure use), and those held in other ShipEx systems, named per system with its owner
for that owner to provide — never fetched. ``build_export`` writes the zip: ``data.csv`` (UTF-8
BOM, every cell neutralised, ``core/exports.py``) and ``data.json``, one record per subject in the
manifest's order, keyed by a record number — an account id goes only when ``account.account_id``
is itself an approved field. The zip is staged in private storage (``package_files``, the access
package's mechanism) and its SHA-256, size and record count computed from the bytes written.

Memory stays bounded: subjects are read in batches, one query per approved field and batch.
"""

import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from shipex_privacy.catalogue.models import PersonalDataField
from shipex_privacy.core.exports import CSV_BOM, csv_writer
from shipex_privacy.retention.erasing import held_model
from shipex_privacy.rights_requests import package_files

from .models import Disclosure, DisclosureExport

BATCH_SUBJECTS = 500
COPY_BYTES = 1 << 20
RECORD = "record"


@dataclass
class Bound:
    """An approved entry held here: how to read its values per subject."""

    entry: PersonalDataField
    model_field: object
    subject_path: str

    @property
    def one_per_subject(self) -> bool:
        return self.subject_path == "pk"


@dataclass
class ExportPlan:
    bound: list[Bound] = field(default_factory=list)
    elsewhere: list[dict] = field(default_factory=list)  # per system: code, name, owner, fields
    subject_ids: list[int] = field(default_factory=list)
    account_ids: list[str] = field(default_factory=list)

    @property
    def codes(self) -> list[str]:
        return [item.entry.code for item in self.bound]


def plan_export(disclosure: Disclosure) -> ExportPlan:
    """What the export of ``disclosure`` holds; a ValidationError names an entry that cannot be read."""
    plan = ExportPlan()
    systems: dict[int, dict] = {}
    entries = disclosure.fields.select_related("system").order_by("code")
    for entry in entries:
        if not entry.binding:
            system = entry.system
            about = systems.setdefault(system.pk, {"system": system.code, "name": system.shown.name,
                                                   "owner": system.shown.owner, "owner_email": system.owner_email,
                                                   "fields": []})
            about["fields"].append(entry.code)
            continue
        try:
            model_field = entry.bound_model_field()
        except LookupError:
            raise ValidationError(_("Catalogue entry %(code)s is bound to “%(binding)s”, which is not a field of "
                                    "this back office; fix the catalogue first.")
                                  % {"code": entry.code, "binding": entry.binding}) from None
        held = held_model(model_field.model)
        if held is None or held.subject_path is None:
            raise ValidationError(_("Catalogue entry %(code)s is held in records this back office cannot tell the "
                                    "subject of, so it cannot be exported per subject.") % {"code": entry.code})
        plan.bound.append(Bound(entry, model_field, held.subject_path))
    plan.elsewhere = sorted(systems.values(), key=lambda about: about["system"])
    rows = disclosure.disclosed_subjects.order_by("subject__account_id", "subject_id").values_list(
        "subject_id", "subject__account_id")
    for subject_id, account_id in rows:
        plan.subject_ids.append(subject_id)
        plan.account_ids.append(account_id)
    return plan


def _plain(value):
    if hasattr(value, "isoformat"):
        if getattr(value, "tzinfo", None) is not None:
            value = timezone.localtime(value)
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)  # Decimal, a related record shown by its name


def _values(item: Bound, subject_ids: list[int]) -> dict[int, list]:
    """The values of one entry for a batch of subjects (one query), in record order."""
    model, name = item.model_field.model, item.model_field.name
    rows = model.objects.filter(**{f"{item.subject_path}__in": subject_ids}).order_by("pk")
    found: dict[int, list] = {}
    if item.model_field.many_to_one or item.model_field.one_to_one:
        for row in rows.select_related(name).annotate(export_subject=_subject(item)):
            found.setdefault(row.export_subject, []).append(getattr(row, name))
    else:
        for subject_id, value in rows.annotate(export_subject=_subject(item)).values_list("export_subject", name):
            found.setdefault(subject_id, []).append(value)
    return {subject_id: [_plain(v) for v in values if v not in (None, "")] for subject_id, values in found.items()}


def _subject(item: Bound):
    return F(item.subject_path)


def _records(plan: ExportPlan):
    """(record number, {code: value or list}) of every subject, in the manifest's order."""
    number = 0
    for start in range(0, len(plan.subject_ids), BATCH_SUBJECTS):
        batch = plan.subject_ids[start:start + BATCH_SUBJECTS]
        values = {item.entry.code: _values(item, batch) for item in plan.bound}
        for subject_id in batch:
            number += 1
            record = {}
            for item in plan.bound:
                held = values[item.entry.code].get(subject_id, [])
                record[item.entry.code] = (held[0] if held else None) if item.one_per_subject else held
            yield number, record


def _cell(value) -> str:
    if isinstance(value, list):
        return "; ".join("" if v is None else str(v) for v in value)
    return "" if value is None else str(value)


def write_zip(archive, disclosure: Disclosure, plan: ExportPlan) -> int:
    """Write the CSV and the JSON into ``archive`` (a binary file); the number of records written."""
    count = 0
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        with io.TextIOWrapper(bundle.open("data.csv", "w", force_zip64=True), encoding="utf-8",
                              newline="") as text:
            text.write(CSV_BOM)
            writer = csv_writer(text)
            writer.writerow([RECORD, *plan.codes])
            for number, record in _records(plan):
                writer.writerow([number, *(_cell(record[code]) for code in plan.codes)])
                count += 1
        with io.TextIOWrapper(bundle.open("data.json", "w", force_zip64=True), encoding="utf-8") as text:
            text.write(json.dumps({"disclosure": disclosure.pk, "fields": plan.codes}, ensure_ascii=False)[:-1])
            text.write(', "records": [')
            for number, record in _records(plan):
                text.write(("" if number == 1 else ", ") + json.dumps({RECORD: number, **record}, ensure_ascii=False))
            text.write("]}\n")
    return count


def build_export(*, disclosure: Disclosure, plan: ExportPlan, actor, built_at,
                 staged: list) -> tuple[DisclosureExport, package_files.StagedFile]:
    """Write the export of ``disclosure`` to a staged private file; its (unsaved) row and the file."""
    storage = DisclosureExport._meta.get_field("file").storage
    file = package_files.stage_file(storage, f"disclosure-{disclosure.pk}", built_at)
    staged.append(file)
    with file.open() as archive:
        count = write_zip(archive, disclosure, plan)
        archive.flush()
        os.fsync(archive.fileno())
        digest, size = hashlib.sha256(), 0
        archive.seek(0)
        while chunk := archive.read(COPY_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return DisclosureExport(
        disclosure=disclosure, file=file.name, sha256=digest.hexdigest(), size=size, record_count=count,
        built_at=built_at, built_by_id=getattr(actor, "pk", None),
        built_by_username=actor.get_username() if actor else "",
    ), file


def stored_file_matches(export: DisclosureExport) -> bool:
    """Whether the stored file's bytes still have the SHA-256 recorded when it was built."""
    digest = hashlib.sha256()
    with export.file.open("rb") as stored:
        while chunk := stored.read(COPY_BYTES):
            digest.update(chunk)
    return digest.hexdigest() == export.sha256


def _hashed_copy(source, archive) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := source.read(COPY_BYTES):
        archive.write(chunk)
        digest.update(chunk)
        size += len(chunk)
    archive.flush()
    os.fsync(archive.fileno())
    return digest.hexdigest(), size


def store_statistics(*, disclosure: Disclosure, upload, actor, built_at,
                     staged: list) -> tuple[DisclosureExport, package_files.StagedFile]:
    """An aggregate-only disclosure (1.4.3.5) names no subjects, so the back office has no records to
    build it from: the officer attaches the statistics file that is sent, and it is kept and hashed
    the same way (its SHA-256 computed here, never typed). It holds no subject's records: count 0."""
    storage = DisclosureExport._meta.get_field("file").storage
    suffix = os.path.splitext(getattr(upload, "name", "") or "")[1].lower()
    suffix = suffix if suffix in (".csv", ".json", ".xlsx", ".zip", ".pdf") else ".bin"
    file = package_files.stage_file(storage, f"disclosure-{disclosure.pk}-statistics", built_at, suffix)
    staged.append(file)
    upload.seek(0)
    with file.open() as archive:
        sha256, size = _hashed_copy(upload, archive)
    return DisclosureExport(
        disclosure=disclosure, file=file.name, sha256=sha256, size=size, record_count=0, built_at=built_at,
        built_by_id=getattr(actor, "pk", None), built_by_username=actor.get_username() if actor else "",
    ), file
