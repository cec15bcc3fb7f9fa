"""The access package (clause 1.5; ZRU-547 arts. 11 and 22): a copy of what ShipEx holds about a subject.

One call builds it for a verified access or information request: every catalogue entry bound to a
field of this back office with the subject's values, purposes, legal basis and retention; their
consents, the consent and cookie ledgers and policy acceptances; the disclosures sent to third
parties; a summary of the data collected automatically; and the catalogue entries held in other
ShipEx systems. Each of these is a section its own app registers (``package_sections``), written
through one writer (``package_writers``). It is written twice, as ``data.json`` (keyed by catalogue
code) and as a readable ``index.html`` in the subject's language, zipped; the zip's SHA-256 is kept
on the package row.

Memory stays bounded however many records the subject has: every queryset is read in chunks and
each record goes straight out — JSON into its zip member, HTML into a temporary file copied into
the zip afterwards (a zip takes one member at a time) — so no document is ever held whole.
"""

import hashlib
import io
import os
import shutil
import tempfile
import zipfile
from contextlib import ExitStack

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from shipex_privacy.audit.events import AuditEvent
from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.models import PersonalDataField
from shipex_privacy.subjects.models import DataSubject

from . import package_files
from .models import AccessPackage, SubjectRequest
from .package_sections import package_sections
from .package_writers import PackageWriter
from .services import lock_workable

COPY_BYTES = 1 << 20
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
            record_count = PackageWriter(data, page, **context).write(package_sections())
        page.flush()
        html_file.seek(0)
        with bundle.open("index.html", "w", force_zip64=True) as member:
            shutil.copyfileobj(html_file, member, COPY_BYTES)
    return record_count
