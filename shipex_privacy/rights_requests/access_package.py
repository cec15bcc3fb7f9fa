"""The access package (clause 1.5; ZRU-547 arts. 11 and 22): a copy of what ShipEx holds about a subject.

One call builds it for a verified access or information request: every catalogue entry bound to a
field of this back office with the subject's values, purposes, legal basis and retention; their
consents, the consent and cookie ledgers and policy acceptances; the disclosures sent to third
parties; a summary of the data collected automatically; and the catalogue entries held in other
ShipEx systems. It is written twice, as ``data.json`` (keyed by catalogue code) and as a readable
``index.html`` in the subject's language, zipped; the zip's SHA-256 is kept on the package row.

Memory stays bounded however many records the subject has: every queryset is read in chunks and
each record goes straight out — JSON into its zip member, HTML into a temporary file copied into
the zip afterwards (a zip takes one member at a time) — so no document is ever held whole.
"""

import functools
import hashlib
import html
import io
import json
import os
import shutil
import tempfile
import zipfile
from contextlib import ExitStack
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeData
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from shipex_privacy.audit.events import AuditEvent
from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.models import PersonalDataField, Purpose
from shipex_privacy.consents.models import Consent, ConsentEvent, CookieConsentEvent, PolicyAcceptance
from shipex_privacy.disclosures.models import Disclosure
from shipex_privacy.retention.erasing import HeldModel, held_model
from shipex_privacy.subjects.models import DataSubject

from . import package_files
from .models import AccessPackage, SubjectRequest
from .services import lock_workable

FORMAT = "shipex-access-package/1"
OPERATOR = "ShipEx"
CHUNK_ROWS = 2000
COPY_BYTES = 1 << 20
# The first of these a model has dates its records (first and last seen, the date column).
RECORD_DATE_FIELDS = ("occurred_at", "accepted_at", "received_at", "created_at", "started_on", "registered_at")
KINDS = (SubjectRequest.Kind.ACCESS, SubjectRequest.Kind.INFORMATION)


def _catalogue() -> list[PersonalDataField]:
    entries = list(PersonalDataField.objects.select_related("retention_rule", "system")
                   .prefetch_related("purposes").order_by("category", "code"))
    for entry in entries:
        if entry.binding:
            try:
                entry.bound_model_field()
            except LookupError:
                # A package that silently left this data out would be wrong; the catalogue must be fixed.
                raise ValidationError(_("Catalogue entry %(code)s is bound to “%(binding)s”, which is not a field "
                                        "of this back office; fix the catalogue first.")
                                      % {"code": entry.code, "binding": entry.binding}) from None
    return entries


def access_package_build(*, request: SubjectRequest, actor) -> AccessPackage:
    """Build the subject's access package for ``request`` and keep it, with its SHA-256, on a new row.

    The zip is written under a temporary name and moved into place when the row is committed; if
    anything fails on the way, the temporary file is removed with it (see ``package_files``).
    """
    staged = []
    try:
        return _build(request=request, actor=actor, staged=staged)
    except BaseException:  # also an interrupted build: no row, no file
        for file in staged:
            file.discard()
        raise


@transaction.atomic
def _build(*, request: SubjectRequest, actor, staged: list) -> AccessPackage:
    request = lock_workable(request, *KINDS)
    entries = _catalogue()
    subject = DataSubject.objects.get(pk=request.subject_id)
    languages = dict(settings.LANGUAGES)
    language = subject.preferred_language if subject.preferred_language in languages else settings.LANGUAGE_CODE
    reason = _("Request #%(id)s: access package built") % {"id": request.pk}  # in the actor's language
    built_at = timezone.now()

    file = package_files.stage(request.pk, built_at)
    staged.append(file)
    with file.open() as archive:
        with translation.override(language):
            record_count = _write_zip(archive, request=request, subject=subject, entries=entries,
                                      language=language, built_at=built_at)
        archive.flush()
        os.fsync(archive.fileno())
        digest, size = hashlib.sha256(), 0
        archive.seek(0)
        while chunk := archive.read(COPY_BYTES):
            digest.update(chunk)
            size += len(chunk)
    package = AccessPackage(
        request=request, file=file.name, sha256=digest.hexdigest(), size=size, language=language,
        record_count=record_count, built_at=built_at, built_by_id=getattr(actor, "pk", None),
        built_by_username=actor.get_username() if actor else "",
    )
    record_save(instance=package, actor=actor, event=AuditEvent.ACCESS_PACKAGE_BUILT, reason=reason)
    file.place_on_commit()
    return package


def _write_zip(archive, **context) -> int:
    with ExitStack() as stack:
        bundle = stack.enter_context(zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED))
        html_file = stack.enter_context(tempfile.TemporaryFile())
        page = stack.enter_context(io.TextIOWrapper(html_file, encoding="utf-8", newline="\n"))
        # Sizes are unknown up front; ZIP64 lets a member grow past 2 GiB instead of failing there.
        with io.TextIOWrapper(bundle.open("data.json", "w", force_zip64=True), encoding="utf-8") as data:
            record_count = _Writer(data, page, **context).write()
        page.flush()
        html_file.seek(0)
        with bundle.open("index.html", "w", force_zip64=True) as member:
            shutil.copyfileobj(html_file, member, COPY_BYTES)
    return record_count


class _Json:
    """Writes one JSON document piece by piece, remembering only how deep it is."""

    def __init__(self, out):
        self.out = out
        self.first = [True]

    def _key(self, key):
        if not self.first[-1]:
            self.out.write(",\n")
        self.first[-1] = False
        if key is not None:
            self.out.write(_dumps(key) + ": ")

    def begin(self, key=None, bracket="{"):
        self._key(key)
        self.out.write(bracket)
        self.first.append(True)

    def end(self, bracket="}"):
        self.first.pop()
        self.out.write(bracket)

    def put(self, value, key=None):
        self._key(key)
        self.out.write(_dumps(value))


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _label(model, name: str) -> str:
    return capfirst(str(model._meta.get_field(name).verbose_name))


def _date_field(model) -> str | None:
    names = {field.name for field in model._meta.concrete_fields}
    return next((name for name in RECORD_DATE_FIELDS if name in names), None)


def _choices(model, name: str) -> dict:
    return {value: str(label) for value, label in model._meta.get_field(name).flatchoices}


def _purpose(purpose: Purpose) -> dict:
    return {"clause": purpose.clause, "name": purpose.name,
            "legal_basis": {"code": purpose.legal_basis, "label": purpose.get_legal_basis_display()}}


def _describe(entry: PersonalDataField) -> dict:
    rule, system = entry.retention_rule, entry.system
    return {
        "name": entry.name,
        "category": entry.get_category_display(),
        "requirement": entry.get_requirement_display(),
        "collection_method": {"code": entry.collection_method, "label": entry.get_collection_method_display()},
        "purposes": [_purpose(purpose) for purpose in entry.purposes.all()],
        "retention": {
            "period": str(rule.period_display), "clock_starts": rule.get_clock_starts_display(),
            "at_the_end": rule.get_end_action_display(), "statutory": rule.is_statutory,
            "legal_reference": rule.shown.legal_reference if rule.is_statutory else "",
        },
        "system": {"code": system.code, "name": system.shown.name, "owner": system.shown.owner,
                   "country": system.country},
        "storage_country": entry.storage_country,
        "binding": entry.binding,
    }


class _Writer:
    """Writes the package's JSON and HTML side by side, one record at a time.

    ``data.json`` holds: ``held_data`` (bound catalogue entries by code, each with its description
    and ``values``), ``consents``, ``consent_events``, ``policy_acceptances``, ``cookie_choices``,
    ``disclosures`` (sent only), ``automatically_collected`` and ``held_elsewhere`` (both by code),
    and ``record_count``: every row listed in those sections, which is also the package row's count.
    """

    def __init__(self, data, page, *, request, subject, entries, language, built_at):
        self.json, self.html = _Json(data), page
        self.request, self.subject, self.entries = request, subject, entries
        self.language, self.built_at = language, built_at
        self.records = 0
        self.seen: dict[str, dict] = {}  # per bound code: how many values, first and last record date
        self.purposes = {purpose.pk: purpose for purpose in Purpose.objects.all()}
        self.tz = timezone.get_current_timezone()
        # Formatting a date the locale's way is slow; records cluster on few days, so remember them.
        self._day = functools.lru_cache(maxsize=4096)(lambda day: formats.date_format(day, "DATE_FORMAT"))

    def _plain(self, value):
        """A value as JSON holds it: local ISO 8601 for moments, text for objects."""
        if isinstance(value, datetime):
            return value.astimezone(self.tz).isoformat()
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, Decimal | models.Model):
            return str(value)
        return value

    def _shown(self, value) -> str:
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

    def write(self) -> int:
        self.json.begin()
        self.json.put(FORMAT, "format")
        self.json.put(OPERATOR, "operator")
        self.json.put(self.language, "language")
        self.json.put(self._plain(self.built_at), "built_at")
        self.json.put({"id": self.request.pk, "kind": self.request.kind, "kind_label": self.request.get_kind_display(),
                       "received_at": self._plain(self.request.received_at)}, "request")
        self.json.put({"account_id": self.subject.account_id}, "subject")
        self.html.write(render_to_string("rights_requests/access_package/head.html", {
            "language": self.language, "operator": OPERATOR, "request": self.request, "subject": self.subject,
            "built_at": self.built_at,
        }))
        self._held_data()
        self._consents()
        self._disclosures()
        self._automatic()
        self._held_elsewhere()
        self.json.put(self.records, "record_count")
        self.json.end()
        self.html.write(render_to_string("rights_requests/access_package/foot.html", {
            "operator": OPERATOR, "built_at": self.built_at, "record_count": self.records}))
        return self.records

    # -- helpers ----------------------------------------------------------------------------------

    def _section(self, anchor: str, title: str, intro: str = "") -> None:
        self.html.write(format_html('<section id="{}">\n<h2>{}</h2>\n', anchor, title))
        if intro:
            self.html.write(format_html("<p>{}</p>\n", intro))

    def _table(self, *headers: str) -> None:
        self.html.write(format_html("<table>\n<thead><tr>{}</tr></thead>\n<tbody>\n",
                                    format_html_join("", "<th>{}</th>", ((header,) for header in headers))))

    def _row(self, *cells) -> None:
        # What format_html does to each argument (escape unless already safe), minus its overhead,
        # which shows on a subject with a hundred thousand rows.
        self.html.write("<tr>" + "".join(
            f"<td>{cell if isinstance(cell, SafeData) else html.escape(str(cell))}</td>" for cell in cells
        ) + "</tr>\n")

    def _end_table(self, rows: int, colspan: int) -> None:
        if rows == 0:
            self.html.write(format_html('<tr><td colspan="{}" class="none">{}</td></tr>\n', colspan,
                                        _("Nothing recorded.")))
        self.html.write("</tbody>\n</table>\n")

    def _entry_html(self, code: str, about: dict) -> None:
        """The heading and the description of one catalogue entry."""
        retention = about["retention"]
        kept = f"{retention['period']}, {retention['clock_starts']}; {retention['at_the_end']}"
        if retention["legal_reference"]:
            kept += f" ({retention['legal_reference']})"
        system = about["system"]
        # The code stays in the anchor and the JSON: subjects read the name, not our catalogue's codes.
        self.html.write(format_html('<h3 id="{}">{}</h3>\n<dl>\n', f"entry-{code}", about["name"]))
        purposes = format_html_join("", "<li>{} — {} <i>({}: {})</i></li>", (
            (purpose["clause"], purpose["name"], _label(Purpose, "legal_basis"), purpose["legal_basis"]["label"])
            for purpose in about["purposes"]))
        for term, description in (
            (_label(PersonalDataField, "purposes"), format_html("<ul>{}</ul>", purposes) if about["purposes"]
             else "—"),
            (_label(PersonalDataField, "retention_rule"), kept),
            (_label(PersonalDataField, "system"), f"{system['name']} ({system['country']})"),
            (_label(PersonalDataField, "requirement"), about["requirement"]),
            (_label(PersonalDataField, "collection_method"), about["collection_method"]["label"]),
        ):
            self.html.write(format_html("<dt>{}</dt><dd>{}</dd>\n", term, description))
        self.html.write("</dl>\n")

    # -- (a) data held in this back office, by catalogue entry -------------------------------------

    def _held_data(self) -> None:
        self._section("held-data", _("Personal data ShipEx holds about you"), _(
            "Each kind of data from ShipEx's data catalogue that this back office holds, with why it is held, "
            "on what legal basis, for how long, and your values."))
        self.json.begin("held_data")
        for entry in self.entries:
            if entry.binding:
                self._bound_entry(entry)
        self.json.end()
        self.html.write("</section>\n")

    def _bound_entry(self, entry: PersonalDataField) -> None:
        field = entry.bound_model_field()
        model, about = field.model, _describe(entry)
        # Whose records these are is known in one place, the registry that erasure and retention use.
        held, date_name = held_model(model), _date_field(model)
        self._entry_html(entry.code, about)
        self.json.begin(entry.code)
        for key, value in about.items():
            self.json.put(value, key)
        self.json.put(model._meta.label, "model")
        seen = self.seen[entry.code] = {"count": 0, "first": None, "last": None}
        self.json.begin("values", "[")
        self._table(_("Record"), _("Value"), _label(model, date_name) if date_name else _("Date"))
        labels = _choices(model, field.name) if field.choices else {}
        for pk, value, when in self._values(held, field, date_name):
            if value is None or value == "":
                continue  # nothing held in this record
            seen["count"] += 1
            if when is not None:
                seen["first"] = when if seen["first"] is None else min(seen["first"], when)
                seen["last"] = when if seen["last"] is None else max(seen["last"], when)
            item = {"record": pk, "value": self._plain(value), "at": self._plain(when)}
            if labels:
                item["label"] = labels.get(value, str(value))
            self.json.put(item)
            self._row(f"#{pk}", item["label"] if labels else self._shown(value), self._shown(when))
        self.records += seen["count"]
        self.json.end("]")
        self._end_table(seen["count"], 3)
        self.json.put(seen["count"], "count")
        if held is None or held.subject_path is None:
            self.json.put(_("This model is not linked to data subjects."), "note")
        self.json.end()

    def _values(self, held: HeldModel | None, field, date_name: str | None):
        """(record id, value, record date) of every row of the model belonging to the subject, in chunks."""
        if held is None:
            return
        rows = held.of_subject(self.subject.pk).order_by(
            *([date_name] if date_name else []), "pk")
        date_of = (lambda row: getattr(row, date_name)) if date_name else (lambda row: None)
        if field.many_to_one or field.one_to_one:
            # Related objects are shown by name (a service used, …), not by their database id.
            for row in rows.select_related(field.name).iterator(chunk_size=CHUNK_ROWS):
                yield row.pk, getattr(row, field.name), date_of(row)
        else:
            names = ["pk", field.name, *([date_name] if date_name else [])]
            for row in rows.values_list(*names).iterator(chunk_size=CHUNK_ROWS):
                yield row[0], row[1], row[2] if date_name else None

    # -- (b) consents and policy acceptances ------------------------------------------------------

    def _listing(self, key: str, heading: str, headers: list[str], rows) -> None:
        """One JSON list and one HTML table, fed by ``rows`` of (JSON item, HTML cells)."""
        if heading:
            self.html.write(format_html("<h3>{}</h3>\n", heading))
        self.json.begin(key, "[")
        self._table(*headers)
        count = 0
        for item, cells in rows:
            self.json.put(item)
            self._row(*cells)
            count += 1
        self.json.end("]")
        self._end_table(count, len(headers))
        self.records += count

    def _consents(self) -> None:
        self._section("consents", _("Consents and policy acceptances"))
        purposes = self.purposes
        channels = _choices(Consent, "channel")

        def channel(code: str) -> dict:
            return {"channel": code, "channel_label": channels.get(code, code)}

        def plural(model) -> str:
            return capfirst(str(model._meta.verbose_name_plural))

        kinds, states = _choices(Consent, "recipient_kind"), _choices(Consent, "state")
        consents = (Consent.objects.filter(subject=self.subject).order_by("granted_at", "pk")
                    .values_list("pk", "purpose_id", "recipient_kind", "state", "channel", "granted_at",
                                 "expires_at", "withdrawn_at").iterator(chunk_size=CHUNK_ROWS))
        self._listing("consents", plural(Consent), [
            _label(Consent, name) for name in ("purpose", "recipient_kind", "state", "channel", "granted_at",
                                               "expires_at", "withdrawn_at")], (
            ({"id": pk, "purpose": _purpose(purposes[purpose]), "recipient_kind": kind,
              "recipient_kind_label": kinds.get(kind, ""), "state": state, "state_label": states[state],
              **channel(via), "granted_at": self._plain(granted), "expires_at": self._plain(expires),
              "withdrawn_at": self._plain(withdrawn)},
             (str(purposes[purpose]), kinds.get(kind) or "—", states[state], channels.get(via, via),
              self._shown(granted), self._shown(expires), self._shown(withdrawn)))
            for pk, purpose, kind, state, via, granted, expires, withdrawn in consents))

        events = _choices(ConsentEvent, "kind")
        ledger = (ConsentEvent.objects.filter(consent__subject=self.subject).order_by("occurred_at", "pk")
                  .values_list("pk", "consent_id", "consent__purpose_id", "kind", "occurred_at", "channel",
                               "policy_version__version", "expires_at", "covered_data", "operator_name",
                               "allows_third_party_transfer", "allows_cross_border_transfer", "allows_publication",
                               "evidence_reference").iterator(chunk_size=CHUNK_ROWS))
        self._listing("consent_events", plural(ConsentEvent), [
            _label(ConsentEvent, "occurred_at"), _label(Consent, "purpose"),
            *(_label(ConsentEvent, name) for name in ("kind", "channel", "policy_version", "expires_at",
                                                      "covered_data", "evidence_reference"))], (
            ({"id": pk, "consent": consent, "purpose": purposes[purpose].clause, "kind": kind,
              "kind_label": events[kind], "occurred_at": self._plain(occurred), **channel(via),
              "policy_version": version, "expires_at": self._plain(expires), "covered_data": covered,
              "operator": operator, "allows_third_party_transfer": third_party,
              "allows_cross_border_transfer": cross_border, "allows_publication": publication,
              "evidence_reference": evidence},
             (self._shown(occurred), str(purposes[purpose]), events[kind], channels.get(via, via), version or "—",
              self._shown(expires), ", ".join(covered or []) or "—", evidence or "—"))
            for (pk, consent, purpose, kind, occurred, via, version, expires, covered, operator, third_party,
                 cross_border, publication, evidence) in ledger))

        acceptances = (PolicyAcceptance.objects.filter(subject=self.subject).order_by("accepted_at", "pk")
                       .values_list("pk", "version__version", "version__effective_date", "accepted_at", "channel")
                       .iterator(chunk_size=CHUNK_ROWS))
        self._listing("policy_acceptances", plural(PolicyAcceptance), [
            _label(PolicyAcceptance, name) for name in ("version", "accepted_at", "channel")], (
            ({"id": pk, "policy_version": version, "in_force_from": self._plain(effective),
              "accepted_at": self._plain(accepted), **channel(via)},
             (f"{version} ({self._shown(effective)})", self._shown(accepted), channels.get(via, via)))
            for pk, version, effective, accepted, via in acceptances))

        categories, choices = _choices(CookieConsentEvent, "category"), _choices(CookieConsentEvent, "kind")
        cookies = (CookieConsentEvent.objects.filter(subject=self.subject).order_by("occurred_at", "pk")
                   .values_list("pk", "category", "kind", "occurred_at", "channel").iterator(chunk_size=CHUNK_ROWS))
        self._listing("cookie_choices", plural(CookieConsentEvent), [
            _label(CookieConsentEvent, name) for name in ("occurred_at", "category", "kind", "channel")], (
            ({"id": pk, "category": category, "category_label": categories[category], "kind": kind,
              "kind_label": choices[kind], "occurred_at": self._plain(occurred), **channel(via)},
             (self._shown(occurred), categories[category], choices[kind], channels.get(via, via)))
            for pk, category, kind, occurred, via in cookies))
        self.html.write("</section>\n")

    # -- (c) disclosures sent to third parties ----------------------------------------------------

    def _disclosures(self) -> None:
        self._section("disclosures", _("Who received your data"), _(
            "Each time ShipEx gave your personal data to a third party: who received it, which data, when, "
            "and on which ground of the privacy policy."))
        sent = (Disclosure.objects.filter(status=Disclosure.Status.SENT, sent_at__isnull=False,
                                          disclosed_subjects__subject=self.subject)
                .select_related("recipient", "purpose").prefetch_related("fields").order_by("sent_at", "pk"))

        def rows():
            for disclosure in sent.iterator(chunk_size=CHUNK_ROWS):
                recipient = disclosure.recipient
                fields = sorted(disclosure.fields.all(), key=lambda field: field.code)
                yield {
                    "id": disclosure.pk, "sent_at": self._plain(disclosure.sent_at),
                    "recipient": {"legal_name": recipient.legal_name, "tin": recipient.tin,
                                  "country": recipient.country, "kind": recipient.get_kind_display()},
                    "fields": {field.code: field.name for field in fields},
                    "ground": {"clause": disclosure.ground, "label": disclosure.get_ground_display()},
                    "purpose": _purpose(disclosure.purpose), "corrects": disclosure.corrects_id,
                }, (
                    self._shown(disclosure.sent_at), f"{recipient.legal_name} ({recipient.country})",
                    format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", (
                        (field.name,) for field in fields))),
                    disclosure.get_ground_display(), str(disclosure.purpose),
                )

        self._listing("disclosures", "", [
            _label(Disclosure, name) for name in ("sent_at", "recipient", "fields", "ground", "purpose")], rows())
        self.html.write("</section>\n")

    # -- (d) summary of the data collected automatically ------------------------------------------

    def _automatic(self) -> None:
        self._section("automatic", _("Data collected automatically"), _(
            "Data ShipEx's services collect without you typing it in (clause 1.2.1.2): how many records this "
            "back office holds and over which period, or which system holds it."))
        self.json.begin("automatically_collected")
        self._table(capfirst(_("name")), _("Records"),
                    _("First"), _("Last"), _label(PersonalDataField, "system"))
        count = 0
        for entry in self.entries:
            if entry.collection_method != PersonalDataField.CollectionMethod.AUTOMATIC:
                continue
            count += 1
            if entry.binding:
                seen = self.seen[entry.code]
                self.json.put({"name": entry.name, "held_here": True, "count": seen["count"],
                               "first": self._plain(seen["first"]), "last": self._plain(seen["last"]),
                               "system": entry.system.shown.name}, entry.code)
                self._row(entry.name, seen["count"], self._shown(seen["first"]), self._shown(seen["last"]),
                          entry.system.shown.name)
            else:
                note = _("Held in “%(system)s”, not in this back office, so this copy cannot include it; providing "
                         "it is a task for the system's owner (%(owner)s).") % {
                    "system": entry.system.shown.name, "owner": entry.system.shown.owner}
                self.json.put({"name": entry.name, "held_here": False, "system": entry.system.shown.name,
                               "owner": entry.system.shown.owner, "note": note}, entry.code)
                self._row(entry.name, "—", "—", "—", note)
        self.json.end()
        self._end_table(count, 5)
        self.html.write("</section>\n")

    # -- (e) catalogue entries held only in other ShipEx systems ----------------------------------

    def _held_elsewhere(self) -> None:
        self._section("elsewhere", _("Data held in other ShipEx systems"), _(
            "ShipEx may also hold these kinds of data about you in other systems. They are not in this copy; "
            "ask for them and the owner of each system will answer."))
        self.json.begin("held_elsewhere")
        for entry in self.entries:
            if not entry.binding:
                about = _describe(entry)
                self.json.put(about, entry.code)
                self._entry_html(entry.code, about)
        self.json.end()
        self.html.write("</section>\n")
