"""Stored markup never renders as markup: HTML typed into any free-text field, shown anywhere.

Every CharField and TextField of every model of ours (found from the models, so a new one is
covered) gets ``<i>X</i>…<a href=x>Verify here</a><img src=x>``, first through ``full_clean`` (a
clean refusal is counted), then stored anyway, as an import or an old row could hold it. Then
every page of every registered admin (list, add, record, history, each version, custom pages),
the letters, receipts, exports and the public register are opened by a superuser (who sees the
edit forms) and by an auditor (who sees the read-only pages), and the access package is read: no
response may carry the marker ``<i>X`` unescaped, and none may fail.
"""

import zipfile
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import DatabaseError, models, transaction
from django.test import RequestFactory
from django.utils import timezone
from django.utils.http import urlencode

from shipex_privacy.accounts.roles import AUDITOR, COMPLIANCE_OFFICER
from shipex_privacy.audit.access import access_record
from shipex_privacy.audit.models import AccessEvent
from shipex_privacy.consents.models import Consent
from shipex_privacy.consents.services import Evidence, consent_withdraw, cookie_consent_record
from tests.accounts.factories import StaffFactory
from tests.disclosures.factories import DisclosureFactory
from tests.security.crawl import Page, admin_pages, build_access_package, world

pytestmark = pytest.mark.django_db

MARKER = "<i>X"
# Values that code reads as configuration rather than text: a binding names a field, hashes are checked.
NOT_TEXT = {"password", "binding", "content_hash", "payload_sha256", "sha256", "file", "history_table",
            "object_type", "model", "search_term_hash", "digest"}


def payload(n: int, max_length: int | None) -> str:
    text = f"<i>X</i>{n}<a href=x>Verify here</a><img src=x>"
    return text[:max_length] if max_length else text


def free_text_fields(model) -> list[models.Field]:
    return [field for field in model._meta.concrete_fields
            if isinstance(field, models.CharField | models.TextField) and not field.choices
            and not field.primary_key and field.name not in NOT_TEXT
            and (field.max_length or 100) >= len(MARKER) + 1]


def our_models() -> list:
    return [model for model in apps.get_models()
            if (model.__module__.startswith("shipex_privacy.") and not model.__name__.startswith("Historical")
                and not model._meta.proxy)]


@pytest.fixture
def stats():
    return {"inputs": 0, "stored": 0, "refused_by_validation": 0, "refused_on_save": 0, "refused_by_database": 0}


def store_markup_everywhere(stats) -> None:
    n = 0
    for model in our_models():
        fields = free_text_fields(model)
        for obj in model._base_manager.order_by("pk"):
            for field in fields:
                n += 1
                stats["inputs"] += 1
                old = getattr(obj, field.attname)
                setattr(obj, field.attname, payload(n, field.max_length))
                try:
                    obj.clean_fields(exclude=[f.name for f in model._meta.fields if f is not field])
                except ValidationError:
                    stats["refused_by_validation"] += 1  # a clean refusal at input; stored below regardless
                try:
                    with transaction.atomic():
                        obj._change_reason = payload(n, 100)  # a reason typed with markup reaches history and trail
                        obj.save(update_fields=[field.name])
                    stats["stored"] += 1
                except ValidationError:  # a normalising field (phone, PINFL…) refuses it on save
                    stats["refused_on_save"] += 1
                    setattr(obj, field.attname, old)
                except DatabaseError:  # a frozen record, a ledger or a log: append-only
                    stats["refused_by_database"] += 1
                    setattr(obj, field.attname, old)


def append_only_records_with_markup(subject, officer) -> None:
    """Ledgers and logs take no UPDATE: their markup arrives with new rows."""
    now = timezone.now()
    evidence = Evidence(channel="app", user_agent=payload(9001, 300), reference=payload(9002, 200))
    for consent in Consent.objects.filter(subject=subject, state="granted"):
        consent_withdraw(consent=consent, occurred_at=now - timedelta(minutes=5), actor=officer,
                         note=payload(9003, 500), evidence=evidence)
    cookie_consent_record(category="analytics", kind="withdraw", occurred_at=now - timedelta(minutes=4),
                          subject=subject, visitor_id=payload(9004, 64), evidence=evidence)


def test_no_page_renders_stored_markup(client, compliance_officer, support_agent, stats):
    approver = StaffFactory(username="malika", role=COMPLIANCE_OFFICER)
    subject, request = world(officer=compliance_officer, approver=approver, agent=support_agent)
    DisclosureFactory()  # a draft: its free text is not frozen
    store_markup_everywhere(stats)
    subject.refresh_from_db()
    append_only_records_with_markup(subject, compliance_officer)
    package = build_access_package(request, support_agent)  # built from the data as it now is
    assert stats["stored"] > 100, stats

    readers = [StaffFactory(username="root", is_superuser=True), StaffFactory(username="gulnora", role=AUDITOR)]
    reveal = RequestFactory().post("/admin/")
    reveal.user = readers[1]
    access_record(request=reveal, action=AccessEvent.Action.IDENTIFIER_REVEAL, subject_id=subject.pk,
                  reason=payload(9005, 500))

    leaks, failures, opened, shown = [], [], 0, 0
    pages = admin_pages()
    # Typed into a search box, markup comes back on the result page: reflected, not stored, alike.
    pages += [Page(f"{page.url}?{urlencode({'q': payload(0, None)})}", page.model_admin, None, page.name)
              for page in list(pages) if page.name.endswith("_changelist")]
    for reader in readers:
        client.force_login(reader)
        for page in pages:
            try:
                response = client.get(page.url)
            except Exception as error:  # a server error is what this counts
                failures.append((reader.username, page.url, repr(error)[:200]))
                continue
            if response.status_code >= 500:
                failures.append((reader.username, page.url, response.status_code))
                continue
            opened += 1
            shown += response.status_code == 200
            body = b"".join(response.streaming_content) if response.streaming else response.content
            if response.get("Content-Type", "").startswith("text/html") and MARKER.encode() in body:
                at = body.index(MARKER.encode())
                leaks.append((reader.username, page.url, body[max(at - 120, 0):at + 40].decode(errors="replace")))

    with package.file.open("rb") as stored, zipfile.ZipFile(stored) as bundle:
        html = bundle.read("index.html").decode()
    package_leaks = html.count(MARKER)

    print(f"\nmarkup crawl: {stats['inputs']} inputs, {stats['stored']} stored, "
          f"{stats['refused_by_validation']} refused by validation, {stats['refused_on_save']} on save, "
          f"{stats['refused_by_database']} by the database; {len(pages)} pages x {len(readers)} readers, "
          f"{opened} answered ({shown} shown, the rest refused), {len(failures)} failures, "
          f"{len(leaks)} leaks; access package leaks: {package_leaks}")
    assert not failures, failures
    assert not leaks, leaks
    assert package_leaks == 0
    assert opened > 200
