"""CSV and XLSX that cannot attack the person who opens them (OWASP's CSV-injection rule).

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and some read a leading tab
or carriage return the same way) as a formula: ``=HYPERLINK(...)`` or ``+cmd|...`` typed by a
subject or a recipient would run on the desk of whoever opens the export. Every cell we write goes
through ``safe_cell``, which prefixes such a value with ``'``; XLSX cells are written as text,
never as formulas. CSVs start with a UTF-8 BOM so that Excel on Windows reads Uzbek and Cyrillic.

Streaming writers use ``CSV_BOM``, ``csv_writer(buffer)`` and ``safe_row(values)``::

    buffer = io.StringIO()
    writer = csv_writer(buffer)
    yield CSV_BOM
    for entry in entries:
        writer.writerow(entry_values)   # csv_writer neutralises every row it writes
        yield buffer.getvalue(); buffer.seek(0); buffer.truncate()
"""

import csv
import io
from collections.abc import Iterable
from datetime import date, datetime

CSV_BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """One cell as text, neutralised when a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        value = value.isoformat()
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def safe_row(values: Iterable) -> list[str]:
    return [safe_cell(value) for value in values]


class _SafeWriter:
    """``csv.writer`` whose rows are neutralised on the way out."""

    def __init__(self, buffer, **kwargs):
        self._writer = csv.writer(buffer, **kwargs)

    def writerow(self, values: Iterable):
        return self._writer.writerow(safe_row(values))

    def writerows(self, rows: Iterable[Iterable]):
        for values in rows:
            self.writerow(values)


def csv_writer(buffer, **kwargs) -> _SafeWriter:
    """A CSV writer on ``buffer`` that neutralises every cell; the caller writes ``CSV_BOM`` first."""
    return _SafeWriter(buffer, **kwargs)


def as_csv(header: Iterable, rows: Iterable[Iterable]) -> str:
    """A whole CSV document: BOM, header, rows, every cell neutralised."""
    buffer = io.StringIO()
    buffer.write(CSV_BOM)
    writer = csv_writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def xlsx_append(sheet, values: Iterable) -> None:
    """Append one row of text cells to an openpyxl sheet: neutralised, and stored as strings."""
    sheet.append(safe_row(values))
    for cell in sheet[sheet.max_row]:
        cell.data_type = "s"  # openpyxl makes a formula of any text starting with "="; ours is text
