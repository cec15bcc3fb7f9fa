"""The file a disclosure sends (issue 13): built by the back office, exactly what was approved, proven by
its SHA-256, downloaded only by those who may read it (each download logged), ended by its retention rule."""

import csv
import hashlib
import io
import json
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from shipex_privacy.accounts.roles import COMPLIANCE_OFFICER
from shipex_privacy.audit.models import AccessEvent
from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.models import PersonalDataField
from shipex_privacy.disclosures.models import Disclosure, DisclosureExport
from shipex_privacy.disclosures.services import (
    disclosure_approve,
    disclosure_send,
    disclosure_set_subjects,
    disclosure_submit,
    disclosure_version,
)
from shipex_privacy.retention.services import retention_apply
from shipex_privacy.rights_requests import package_files
from tests.accounts.factories import StaffFactory
from tests.disclosures.factories import DisclosureFactory, RecipientFactory
from tests.subjects.factories import AddressFactory, DataSubjectFactory

pytestmark = pytest.mark.django_db
CODES = ("address.city", "identity.full_name", "shipment.recipient_name")


@pytest.fixture
def second_officer():
    return StaffFactory(username="malika", role=COMPLIANCE_OFFICER)


def approved(officer, approver, subjects, codes=CODES, **extra):
    disclosure = DisclosureFactory(
        ground="1.4.3.3", recipient=RecipientFactory(kind="state_authority"), created_by_id=officer.pk,
        created_by_username=officer.username, legal_authority="Toshkent shahar Yunusobod tumani sudi",
        legal_document_number="2-1234/2026", legal_document_date=date(2026, 11, 20),
        fields=list(PersonalDataField.objects.filter(code__in=codes)), **extra,
    )
    disclosure_set_subjects(disclosure=disclosure, subjects=subjects, actor=officer, reason="Court order")
    disclosure_submit(disclosure=disclosure, actor=officer)
    disclosure_approve(disclosure=disclosure, approver=approver)
    return disclosure


def members(export: DisclosureExport) -> dict[str, bytes]:
    with export.file.open("rb") as stored, zipfile.ZipFile(stored) as bundle:
        return {name: bundle.read(name) for name in bundle.namelist()}


@pytest.fixture
def sent(compliance_officer, second_officer, django_capture_on_commit_callbacks):
    first = DataSubjectFactory(full_name='=HYPERLINK("http://evil.example","Aziz")')
    AddressFactory(subject=first, city="Toshkent")
    AddressFactory(subject=first, city="Samarqand")
    second = DataSubjectFactory(full_name="Dilnoza Karimova", email="dilnoza@example.uz")
    bystander = DataSubjectFactory(full_name="Not Disclosed")
    disclosure = approved(compliance_officer, second_officer, [first, second])
    with django_capture_on_commit_callbacks(execute=True):  # the file is moved into place on commit
        disclosure = disclosure_send(disclosure=disclosure, actor=compliance_officer,
                                     based_on=disclosure_version(disclosure))
    return disclosure, [first, second], bystander


def test_the_export_holds_exactly_the_approved_fields_of_the_approved_subjects(sent):
    disclosure, (first, second), bystander = sent
    files = members(disclosure.export)
    assert sorted(files) == ["data.csv", "data.json"]
    data = json.loads(files["data.json"])
    # Only the fields held here; shipment.recipient_name lives in another system and is only named.
    assert data["fields"] == ["address.city", "identity.full_name"]
    by_name = {record["identity.full_name"]: record for record in data["records"]}
    assert set(by_name) == {first.full_name, second.full_name}
    assert sorted(by_name[first.full_name]["address.city"]) == ["Samarqand", "Toshkent"]
    for record in data["records"]:
        assert set(record) == {"record", "address.city", "identity.full_name"}  # not a field more
    text = files["data.csv"].decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["record", "address.city", "identity.full_name"] and len(rows) == 3
    everything = files["data.csv"] + files["data.json"]
    for absent in (second.email, second.account_id, first.phone, bystander.full_name):
        assert absent.encode() not in everything
    # Record n is the n-th subject of the frozen manifest.
    number = {record["record"]: record["identity.full_name"] for record in data["records"]}
    accounts = {s.account_id: s.full_name for s in (first, second)}
    assert [number[n + 1] for n in range(2)] == [accounts[a] for a in disclosure.manifest["subjects"]]


def test_formula_cells_are_neutralised_in_the_csv(sent):
    disclosure, (first, _second), _bystander = sent
    rows = list(csv.reader(io.StringIO(members(disclosure.export)["data.csv"].decode("utf-8").lstrip("\ufeff"))))
    names = [row[2] for row in rows[1:]]
    assert f"'{first.full_name}" in names and first.full_name not in names


def test_sha_and_count_match_the_file_and_the_manifest_names_other_systems(sent):
    disclosure, _subjects, _bystander = sent
    export = disclosure.export
    with export.file.open("rb") as stored:
        content = stored.read()
    assert hashlib.sha256(content).hexdigest() == export.sha256 == disclosure.payload_sha256
    assert (len(content), export.record_count, disclosure.record_count) == (export.size, 2, 2)
    held = disclosure.manifest["held_elsewhere"]
    assert [code for system in held for code in system["fields"]] == ["shipment.recipient_name"]
    assert all(system["owner"] for system in held)
    assert disclosure.manifest["file"]["sha256"] == export.sha256
    # Private storage, as the access packages: for the back office's own account only.
    assert Path(export.file.path).stat().st_mode & 0o777 == 0o600
    assert export.history.get().history_change_reason == f"Disclosure № {disclosure.pk} sent"


def test_an_unapproved_or_stale_disclosure_is_refused_and_nothing_is_built(compliance_officer, second_officer):
    subject = DataSubjectFactory()
    disclosure = approved(compliance_officer, second_officer, [subject])
    with pytest.raises(ValidationError, match="changed after this page was opened"):
        disclosure_send(disclosure=disclosure, actor=compliance_officer, based_on=disclosure_version(disclosure) - 1)
    draft = DisclosureFactory(fields=[PersonalDataField.objects.get(code="identity.full_name")])
    with pytest.raises(ValidationError, match="not possible now"):
        disclosure_send(disclosure=draft, actor=compliance_officer)
    assert not DisclosureExport.objects.exists()
    assert Disclosure.objects.get(pk=disclosure.pk).status == "approved"
    root = DisclosureExport._meta.get_field("file").storage.location
    assert not [path for path in Path(root).rglob("*") if path.is_file()]  # no file left


def test_the_send_step_previews_then_builds(client, compliance_officer, second_officer,
                                            django_capture_on_commit_callbacks):
    disclosure = approved(compliance_officer, second_officer, DataSubjectFactory.create_batch(3))
    client.force_login(compliance_officer)
    client.cookies["django_language"] = "en"
    url = reverse("admin:disclosures_disclosure_send", args=[disclosure.pk])
    page = client.get(url).content.decode()
    assert "3 subjects" in page and "identity.full_name" in page and "shipment.recipient_name" in page
    assert "payload_sha256" not in page  # nothing to type
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"version": disclosure_version(disclosure)})
    assert response.status_code == 302
    disclosure.refresh_from_db()
    assert disclosure.status == "sent" and disclosure.record_count == 3 and disclosure.export.file
    # A second post (the same page again) changes nothing and says why.
    response = client.post(url, {"version": disclosure_version(disclosure)}, follow=True)
    assert "not possible now" in response.content.decode()
    assert DisclosureExport.objects.count() == 1


def test_download_is_logged_and_only_for_those_who_may_read_exports(client, sent, auditor, support_agent):
    disclosure, _subjects, _bystander = sent
    url = reverse("admin:disclosures_disclosure_export", args=[disclosure.pk])
    client.force_login(support_agent)  # reads disclosures to tell subjects, never the subjects' file
    assert client.get(url).status_code == 403
    client.force_login(auditor)
    response = client.get(url)
    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    assert hashlib.sha256(content).hexdigest() == disclosure.payload_sha256
    event = AccessEvent.objects.get(action=AccessEvent.Action.EXPORT)
    assert (event.username, event.object_type, event.object_id) == (
        auditor.username, "disclosures.disclosure", str(disclosure.pk))
    assert "2 subjects" in event.detail
    change = client.get(reverse("admin:disclosures_disclosure_change", args=[disclosure.pk])).content.decode()
    assert url in change


def test_a_tampered_file_is_not_served(client, sent, auditor):
    disclosure, _subjects, _bystander = sent
    export = disclosure.export
    with open(export.file.path, "ab") as stored:
        stored.write(b"forged")
    client.force_login(auditor)
    client.cookies["django_language"] = "en"
    response = client.get(reverse("admin:disclosures_disclosure_export", args=[disclosure.pk]), follow=True)
    assert "no longer matches the SHA-256" in response.content.decode()
    assert not AccessEvent.objects.filter(action=AccessEvent.Action.EXPORT).exists()


def test_retention_removes_expired_files_and_keeps_the_proof(sent, compliance_officer,
                                                             django_capture_on_commit_callbacks):
    disclosure, _subjects, _bystander = sent
    export = disclosure.export
    stored, storage = export.file.name, export.file.storage
    export.built_at = timezone.now() - timedelta(days=91)
    record_save(instance=export, actor=compliance_officer, reason="test: built three months ago")
    with django_capture_on_commit_callbacks() as on_commit:
        retention_apply(dry_run=False, started_by="scheduler")
    deletions = [callback for callback in on_commit if getattr(callback, "func", None) == storage.delete]
    assert len(deletions) == 1
    deletions[0]()
    export.refresh_from_db()
    disclosure.refresh_from_db()
    assert export.file.name == "" and not storage.exists(stored)
    assert export.sha256 == disclosure.payload_sha256 and disclosure.record_count == 2
    assert disclosure.manifest["file"]["name"] == stored
    assert export.history.order_by("-history_id").first().history_change_reason.startswith("Retention run")


def test_the_daily_sweep_removes_export_files_no_row_names(sent):
    disclosure, _subjects, _bystander = sent
    storage = disclosure.export.file.storage
    orphan = f"{timezone.localtime():%Y/%m}/disclosure-999-0000.zip"
    storage.save(orphan, io.BytesIO(b"left over"))
    sweep = package_files.sweep_package_files()
    assert sweep.orphans == [f"disclosure-exports/{orphan}"]
    assert not storage.exists(orphan) and storage.exists(disclosure.export.file.name)


def test_an_aggregate_disclosure_sends_the_attached_statistics(compliance_officer, second_officer,
                                                              django_capture_on_commit_callbacks):
    disclosure = DisclosureFactory(
        ground="1.4.3.5", recipient=RecipientFactory(kind="research_partner"), aggregate_only=True,
        created_by_id=compliance_officer.pk, fields=[PersonalDataField.objects.get(code="address.region")])
    disclosure_submit(disclosure=disclosure, actor=compliance_officer)
    disclosure_approve(disclosure=disclosure, approver=second_officer)
    with pytest.raises(ValidationError, match="attach the statistics file"):
        disclosure_send(disclosure=disclosure, actor=compliance_officer)
    content = b"region,orders\nToshkent,1200\n"
    with django_capture_on_commit_callbacks(execute=True):
        disclosure = disclosure_send(disclosure=disclosure, actor=compliance_officer,
                                     statistics=SimpleUploadedFile("stats.csv", content))
    assert disclosure.payload_sha256 == hashlib.sha256(content).hexdigest() and disclosure.record_count == 0
    with disclosure.export.file.open("rb") as stored:
        assert stored.read() == content
