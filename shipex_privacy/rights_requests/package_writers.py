"""How an access package is written: ``data.json`` streamed piece by piece and ``index.html`` beside it.

The writer knows no app's models. What goes in comes from the sections the apps register
(``package_sections``); each section writes its records through the writer one at a time, so no
document is ever held whole, and counts them (``counted``) for the package's ``record_count``.
"""

import functools
import html
import json
from datetime import date, datetime
from decimal import Decimal

from django.db import models
from django.template.loader import render_to_string
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeData
from django.utils.text import capfirst
from django.utils.translation import gettext as _

FORMAT = "shipex-access-package/1"
OPERATOR = "ShipEx"
# Rows read per query chunk; a section's queries stay the same however many records it lists.
CHUNK_ROWS = 2000


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def label(model, name: str) -> str:
    """A field's name as the subject reads it."""
    return capfirst(str(model._meta.get_field(name).verbose_name))


def plural(model) -> str:
    return capfirst(str(model._meta.verbose_name_plural))


def choices(model, name: str) -> dict:
    return {value: str(text) for value, text in model._meta.get_field(name).flatchoices}


class JsonWriter:
    """Writes one JSON document piece by piece, remembering only how deep it is."""

    def __init__(self, out):
        self.out = out
        self.first = [True]

    def _key(self, key):
        if not self.first[-1]:
            self.out.write(",\n")
        self.first[-1] = False
        if key is not None:
            self.out.write(dumps(key) + ": ")

    def begin(self, key=None, bracket="{"):
        self._key(key)
        self.out.write(bracket)
        self.first.append(True)

    def end(self, bracket="}"):
        self.first.pop()
        self.out.write(bracket)

    def put(self, value, key=None):
        self._key(key)
        self.out.write(dumps(value))


class PackageWriter:
    """The package's JSON and HTML side by side, and what the sections share while they write.

    ``state`` holds what one section leaves for another (the values counted per catalogue entry,
    the systems that answered); a section's ``prepare`` runs before anything is written.
    """

    def __init__(self, data, page, *, request, subject, entries, language, built_at):
        self.json, self.html = JsonWriter(data), page
        self.request, self.subject, self.entries = request, subject, entries
        self.language, self.built_at = language, built_at
        self.records = 0
        self.state: dict = {}
        self.tz = timezone.get_current_timezone()
        # Formatting a date the locale's way is slow; records cluster on few days, so remember them.
        self._day = functools.lru_cache(maxsize=4096)(lambda day: formats.date_format(day, "DATE_FORMAT"))

    def write(self, sections) -> int:
        for section in sections:
            if section.prepare is not None:
                section.prepare(self)
        self.json.begin()
        self.json.put(FORMAT, "format")
        self.json.put(OPERATOR, "operator")
        self.json.put(self.language, "language")
        self.json.put(self.plain(self.built_at), "built_at")
        self.json.put({"id": self.request.pk, "kind": self.request.kind, "kind_label": self.request.get_kind_display(),
                       "received_at": self.plain(self.request.received_at)}, "request")
        self.json.put({"account_id": self.subject.account_id}, "subject")
        self.html.write(render_to_string("rights_requests/access_package/head.html", {
            "language": self.language, "operator": OPERATOR, "request": self.request, "subject": self.subject,
            "built_at": self.built_at,
            "contents": [(anchor, str(title)) for section in sections for anchor, title in section.contents(self)],
        }))
        for section in sections:
            section.write(self)
        self.json.put(self.records, "record_count")
        self.json.end()
        self.html.write(render_to_string("rights_requests/access_package/foot.html", {
            "operator": OPERATOR, "built_at": self.built_at, "record_count": self.records}))
        return self.records

    # -- values ---------------------------------------------------------------------------------

    def plain(self, value):
        """A value as JSON holds it: local ISO 8601 for moments, text for objects."""
        if isinstance(value, datetime):
            return value.astimezone(self.tz).isoformat()
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, Decimal | models.Model):
            return str(value)
        return value

    def shown(self, value) -> str:
        """A value as the subject reads it, in their language's date format."""
        if value is None or value == "":
            return "—"
        if isinstance(value, datetime):
            local = value.astimezone(self.tz)
            return f"{self._day(local.date())} {local:%H:%M}"
        if isinstance(value, date):
            return self._day(value)
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        return str(value)

    def counted(self, records: int) -> None:
        self.records += records

    # -- HTML -----------------------------------------------------------------------------------

    def section(self, anchor: str, title: str, intro: str = "") -> None:
        self.html.write(format_html('<section id="{}">\n<h2>{}</h2>\n', anchor, title))
        if intro:
            self.html.write(format_html("<p>{}</p>\n", intro))

    def end_section(self) -> None:
        self.html.write("</section>\n")

    def heading(self, text: str) -> None:
        self.html.write(format_html("<h3>{}</h3>\n", text))

    def table(self, *headers: str) -> None:
        self.html.write(format_html("<table>\n<thead><tr>{}</tr></thead>\n<tbody>\n",
                                    format_html_join("", "<th>{}</th>", ((header,) for header in headers))))

    def row(self, *cells) -> None:
        # What format_html does to each argument (escape unless already safe), minus its overhead,
        # which shows on a subject with a hundred thousand rows.
        self.html.write("<tr>" + "".join(
            f"<td>{cell if isinstance(cell, SafeData) else html.escape(str(cell))}</td>" for cell in cells
        ) + "</tr>\n")

    def end_table(self, rows: int, colspan: int) -> None:
        if rows == 0:
            self.html.write(format_html('<tr><td colspan="{}" class="none">{}</td></tr>\n', colspan,
                                        _("Nothing recorded.")))
        self.html.write("</tbody>\n</table>\n")

    def listing(self, key: str, heading: str, headers: list[str], rows) -> None:
        """One JSON list and one HTML table, fed by ``rows`` of (JSON item, HTML cells), all counted."""
        if heading:
            self.heading(heading)
        self.json.begin(key, "[")
        self.table(*headers)
        count = 0
        for item, cells in rows:
            self.json.put(item)
            self.row(*cells)
            count += 1
        self.json.end("]")
        self.end_table(count, len(headers))
        self.counted(count)


def purpose_json(purpose) -> dict:
    """A catalogue purpose as every section lists it: clause, name and legal basis."""
    return {"clause": purpose.clause, "name": purpose.name,
            "legal_basis": {"code": purpose.legal_basis, "label": purpose.get_legal_basis_display()}}
