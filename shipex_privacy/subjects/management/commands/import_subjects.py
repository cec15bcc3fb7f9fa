"""``manage.py import_subjects FILE``: the first back-fill of ShipEx's users, in batches, with full history.

The file is read line by line (never whole, so memory stays flat however long it is); each batch
goes through ``subjects.services.subjects_upsert_many`` in its own transaction.
"""

import csv
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shipex_privacy.audit.events import AuditEvent, SystemActor
from shipex_privacy.subjects.intake import ADDRESS_FIELDS, ADDRESSES, KEEP_PINFL, MAX_ADDRESSES, SubjectRules
from shipex_privacy.subjects.models import DataSubject
from shipex_privacy.subjects.services import CREATED, REFUSED, UNCHANGED, UPDATED, subjects_upsert_many

MAX_LINE_BYTES = 64 * 1024  # a subject with twenty addresses fits in a few kilobytes
BOM = b"\xef\xbb\xbf"
SUBJECT_COLUMNS = (*DataSubject.PERSONAL_DATA_FIELDS, KEEP_PINFL)
ADDRESS_COLUMN_RE = re.compile(rf"address_([1-9][0-9]*)_({'|'.join(ADDRESS_FIELDS)})")
TRUE, FALSE = {"true", "1", "yes"}, {"false", "0", "no", ""}
REFUSALS_SHOWN = 1000  # refused lines printed one by one; beyond that only counted

HELP = gettext_lazy("""Import (create or update) data subjects from FILE, for the first back-fill and later ones.

NDJSON (default; one JSON object per line, as the API's PUT /api/v1/subjects/{account_id} takes it):
  {"account_id": "SX1002345", "full_name": "...", "phone": "+998 90 123 45 67", "addresses": [{"kind": "home",
   "region": "...", "city": "...", "street": "..."}]}
CSV (--format csv, or a file ending in .csv): a header row, then one subject per row. Columns:
  account_id, full_name, phone, email, pinfl, passport, birth_date (YYYY-MM-DD), preferred_language (uz, ru, en),
  registered_at (ISO 8601 with offset), keep_pinfl (true/false), and per address N (1, 2, ...):
  address_N_kind, address_N_region, address_N_city, address_N_street, address_N_landmark, address_N_postal_code.
  An empty cell is a value not given; an address whose cells are all empty is no address.
Each row is the whole subject, as a PUT: a field not given is cleared and addresses not given are removed; a row
that changes nothing writes nothing. History names the importer (system:import, or --as) with event
record.imported.
Each batch is one transaction. A bad row is reported with its line number. Without --skip-bad the import stops
at the first batch with a bad row and writes nothing of that batch; the batches before it stay imported
(committed), and the summary says how many rows they held. With --skip-bad bad rows are reported and the rest
goes on. Lines longer than 64 KiB and text that is not UTF-8 are bad rows.""")


# --- reading the file, line by line ----------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    line: int
    account_id: str
    payload: dict


@dataclass(frozen=True)
class BadRow:
    line: int
    message: str


class FileRefused(Exception):
    """The file as a whole cannot be imported (empty, a header that is not ours)."""


def physical_lines(stream) -> Iterator[tuple[int, str | BadRow]]:
    """(line number, text without its line end) of a binary stream; too long or not UTF-8 lines as BadRow."""
    number = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if number == 1:
            raw = raw.removeprefix(BOM)
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while (rest := stream.readline(MAX_LINE_BYTES + 1)) and not rest.endswith(b"\n"):
                pass  # the rest of the line is skipped, a chunk at a time
            yield number, BadRow(number, _("The line is longer than %(max)s bytes.") % {"max": MAX_LINE_BYTES})
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            yield number, BadRow(number, _("The line is not UTF-8 text (byte %(at)s).") % {"at": error.start + 1})
            continue
        yield number, text.removesuffix("\n").removesuffix("\r")


def _refuse_duplicate_keys(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(_("The field “%(field)s” is given twice.") % {"field": key[:80]})
        result[key] = value
    return result


def _refuse_constant(name):
    raise ValueError(_("%(value)s is not a JSON value.") % {"value": name})


def parse_ndjson_line(number: int, text: str) -> Row | BadRow | None:
    """One NDJSON line as a row; None for a blank line."""
    if not text.strip():
        return None
    try:
        payload = json.loads(text, object_pairs_hook=_refuse_duplicate_keys, parse_constant=_refuse_constant)
    except RecursionError:
        return BadRow(number, _("The JSON is nested too deeply."))
    except ValueError as error:  # JSONDecodeError is one
        message = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        return BadRow(number, _("The line is not a JSON object: %(error)s.") % {"error": message})
    if not isinstance(payload, dict):
        return BadRow(number, _("The line is not a JSON object describing a subject."))
    account_id = payload.get("account_id")
    if not isinstance(account_id, str) or not account_id.strip():
        return BadRow(number, _("The line has no account_id."))
    return Row(number, account_id, payload)


def ndjson_rows(stream) -> Iterator[Row | BadRow]:
    for number, text in physical_lines(stream):
        item = text if isinstance(text, BadRow) else parse_ndjson_line(number, text)
        if item is not None:
            yield item


@dataclass
class CsvLayout:
    subject_columns: dict[int, str] = field(default_factory=dict)  # position → field
    address_columns: dict[int, tuple[int, str]] = field(default_factory=dict)  # position → (address number, field)
    width: int = 0


def csv_layout(header: list[str]) -> CsvLayout:
    layout = CsvLayout(width=len(header))
    seen = set()
    for position, name in enumerate(header):
        name = name.strip()
        if name in seen:
            raise FileRefused(_("The column “%(column)s” appears twice in the header.") % {"column": name[:80]})
        seen.add(name)
        if name in SUBJECT_COLUMNS:
            layout.subject_columns[position] = name
        elif match := ADDRESS_COLUMN_RE.fullmatch(name):
            number = int(match.group(1))
            if number > MAX_ADDRESSES:
                raise FileRefused(_("At most %(max)s addresses per subject; the header names address %(n)s.")
                                  % {"max": MAX_ADDRESSES, "n": number})
            layout.address_columns[position] = (number, match.group(2))
        else:
            raise FileRefused(_("Unknown column “%(column)s” in the header; the columns are described in "
                                "manage.py import_subjects --help.") % {"column": name[:80]})
    if "account_id" not in seen:
        raise FileRefused(_("The header has no account_id column."))
    return layout


def csv_payload(number: int, cells: list[str], layout: CsvLayout) -> Row | BadRow:
    if len(cells) != layout.width:
        return BadRow(number, _("The row has %(cells)s cells; the header has %(columns)s.")
                      % {"cells": len(cells), "columns": layout.width})
    payload: dict = {}
    for position, name in layout.subject_columns.items():
        value = cells[position]
        if name == KEEP_PINFL:
            if value.strip().lower() not in TRUE | FALSE:
                return BadRow(number, _("keep_pinfl is true or false, not “%(value)s”.") % {"value": value[:20]})
            payload[name] = value.strip().lower() in TRUE
        elif value != "":
            payload[name] = value
    addresses: dict[int, dict] = {}
    for position, (address, name) in layout.address_columns.items():
        if cells[position] != "":
            addresses.setdefault(address, {})[name] = cells[position]
    payload[ADDRESSES] = [addresses[n] for n in sorted(addresses)]
    if not payload.get("account_id", "").strip():
        return BadRow(number, _("The row has no account_id."))
    return Row(number, payload["account_id"], payload)


def csv_rows(stream) -> Iterator[Row | BadRow]:
    """CSV records as rows; a record may span lines (a quoted line break), numbered by its first line."""
    bad: dict[int, BadRow] = {}

    def texts():
        for number, text in physical_lines(stream):
            if isinstance(text, BadRow):
                bad[number] = text
                yield "\n"  # the reader sees an empty line there; the record holding it is refused below
            else:
                yield text + "\n"

    with csv_field_limit(MAX_LINE_BYTES):
        yield from _csv_records(texts(), bad)


@contextmanager
def csv_field_limit(limit: int):
    """The csv module's field limit is one for the whole process: set it while this import reads, then
    give the previous one back (the consents import relies on the default)."""
    previous = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _csv_records(texts, bad: dict) -> Iterator[Row | BadRow]:
    last_line = 0
    reader = csv.reader(texts, strict=True)
    layout = None
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            yield bad.pop(reader.line_num, None) or BadRow(reader.line_num, _("The line is not valid CSV: %(error)s.")
                                                            % {"error": error})
            last_line = reader.line_num
            continue
        first, last_line = last_line + 1, reader.line_num
        broken = [bad.pop(number) for number in range(first, last_line + 1) if number in bad]
        if broken:
            yield broken[0]
            continue
        if not any(cell.strip() for cell in cells):
            continue  # a blank line
        if layout is None:
            layout = csv_layout(cells)
            continue
        yield csv_payload(first, cells, layout)
    if layout is None and not bad:
        raise FileRefused(_("The file is empty: there is no header row."))


# --- importing, batch by batch ----------------------------------------------------------------------------


@dataclass
class ImportSummary:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0
    batches: int = 0
    stopped_at: int | None = None  # the first line of the batch that was not written (without --skip-bad)

    @property
    def written(self) -> int:
        return self.created + self.updated + self.unchanged


Report = Callable[[BadRow], None]


def import_subjects(stream, *, fmt: str, actor, reason: str, batch_size: int = 1000, skip_bad: bool = False,
                    on_refused: Report = lambda bad: None,
                    on_batch: Callable[[ImportSummary], None] = lambda summary: None) -> ImportSummary:
    """Import ``stream`` (binary) batch by batch; refusals go to ``on_refused`` as they are met."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    rules = SubjectRules.load()
    summary = ImportSummary()
    rows = csv_rows(stream) if fmt == "csv" else ndjson_rows(stream)
    batch: list[Row] = []

    def write() -> bool:
        report = subjects_upsert_many(rows=[(row.account_id, row.payload) for row in batch], actor=actor,
                                      reason=reason, event=AuditEvent.IMPORTED, rules=rules,
                                      stop_on_refusal=not skip_bad)
        for row, outcome in zip(batch, report.outcomes, strict=True):
            if outcome.outcome == REFUSED:
                summary.refused += 1
                on_refused(BadRow(row.line, f"{outcome.account_id}: {outcome.message}"))
        if not report.written:
            summary.stopped_at = batch[0].line
            return False
        summary.batches += 1
        summary.created += report.count(CREATED)
        summary.updated += report.count(UPDATED)
        summary.unchanged += report.count(UNCHANGED)
        batch.clear()
        on_batch(summary)
        return True

    for item in rows:
        summary.rows += 1
        if isinstance(item, BadRow):
            summary.refused += 1
            on_refused(item)
            if not skip_bad:
                summary.stopped_at = batch[0].line if batch else item.line
                return summary
            continue
        batch.append(item)
        if len(batch) >= batch_size and not write():
            return summary
    if summary.rows == 0:
        raise FileRefused(_("The file is empty: nothing was imported."))
    if batch:
        write()
    return summary


class Command(BaseCommand):
    help = HELP

    def create_parser(self, prog_name, subcommand, **kwargs):
        from argparse import RawDescriptionHelpFormatter

        return super().create_parser(prog_name, subcommand, formatter_class=RawDescriptionHelpFormatter, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("path", metavar="FILE", type=Path)
        parser.add_argument("--format", dest="fmt", choices=("ndjson", "csv"),
                            help=gettext_lazy("ndjson or csv (default: csv for a file ending in .csv, else ndjson)."))
        parser.add_argument("--skip-bad", action="store_true",
                            help=gettext_lazy("Report bad rows and go on with the rest."))
        parser.add_argument("--batch-size", type=int, default=1000,
                            help=gettext_lazy("Rows per transaction (default 1000)."))
        parser.add_argument("--as", dest="username",
                            help=gettext_lazy("Staff member named in history (needs subjects.change_datasubject); "
                                              "default system:import."))
        parser.add_argument("--reason", help=gettext_lazy("Reason kept in history (default: “Imported from FILE”)."))

    def handle(self, *, path: Path, fmt: str | None, skip_bad: bool, batch_size: int, username: str | None,
               reason: str | None, **options):
        if batch_size < 1:
            raise CommandError(_("--batch-size must be at least 1."))
        actor = self.actor(username)
        fmt = fmt or ("csv" if path.suffix.lower() == ".csv" else "ndjson")
        reason = reason or _("Imported from %(file)s") % {"file": path.name}
        shown = 0

        def refused(bad: BadRow) -> None:
            nonlocal shown
            shown += 1
            if shown <= REFUSALS_SHOWN:
                self.stderr.write("\r" + _("line %(line)s: %(message)s") % {"line": bad.line, "message": bad.message})

        def progress(summary: ImportSummary) -> None:
            self.stderr.write("\r" + _("%(rows)s rows read, %(written)s imported, %(refused)s refused") % {
                "rows": summary.rows, "written": summary.written, "refused": summary.refused}, ending="")
            self.stderr.flush()

        try:
            with path.open("rb") as stream:
                summary = import_subjects(stream, fmt=fmt, actor=actor, reason=reason, batch_size=batch_size,
                                          skip_bad=skip_bad, on_refused=refused, on_batch=progress)
        except OSError as error:
            raise CommandError(_("Cannot read %(file)s: %(error)s") % {"file": path, "error": error.strerror}) \
                from error
        except FileRefused as error:
            raise CommandError(_("%(file)s: %(error)s Nothing was imported.") % {"file": path.name, "error": error}) \
                from error
        self.stderr.write("")
        if shown > REFUSALS_SHOWN:
            self.stderr.write(_("… and %(more)s more refused lines.") % {"more": shown - REFUSALS_SHOWN})
        self.stdout.write(_("%(file)s: %(rows)s rows read; %(created)s created, %(updated)s updated, %(unchanged)s "
                            "unchanged, %(refused)s refused.") % {"file": path.name, **vars(summary)})
        if summary.stopped_at is not None:
            raise CommandError(_(
                "Stopped at the batch starting on line %(line)s: nothing of that batch was written. The %(done)s "
                "rows of the %(batches)s batches before it are imported. Fix the lines named above and run the "
                "import again (rows already imported come out unchanged), or use --skip-bad.") % {
                "line": summary.stopped_at, "done": summary.written, "batches": summary.batches})

    def actor(self, username: str | None):
        if not username:
            return SystemActor("import")
        user = get_user_model().objects.filter(username=username, is_active=True, is_staff=True).first()
        if user is None:
            raise CommandError(_("No active staff member %(name)s.") % {"name": repr(username)})
        if not user.has_perm("subjects.change_datasubject"):
            raise CommandError(_("%(name)s may not change data subjects (subjects.change_datasubject).")
                               % {"name": username})
        return user
