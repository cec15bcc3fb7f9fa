"""The access package (1.5): one action builds a complete, hashed copy of a subject's data."""

import gc
import hashlib
import json
import tracemalloc
import zipfile
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from shipex_privacy.accounts.roles import COMPLIANCE_OFFICER
from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.models import PersonalDataField, Purpose, Service
from shipex_privacy.consents.models import Consent, ConsentEvent, CookieConsentEvent
from shipex_privacy.consents.services import (
    Evidence,
    consent_grant,
    consent_withdraw,
    cookie_consent_record,
    policy_accept,
)
from shipex_privacy.disclosures.services import (
    disclosure_approve,
    disclosure_send,
    disclosure_set_subjects,
    disclosure_submit,
)
from shipex_privacy.rights_requests.models import AccessPackage, SubjectRequest
from shipex_privacy.rights_requests.services import request_move, request_receive, request_verify_identity
from shipex_privacy.subjects.models import ServiceUse
from tests.accounts.factories import StaffFactory
from tests.consents.factories import PolicyVersionFactory
from tests.disclosures.factories import DisclosureFactory, RecipientFactory
from tests.rights_requests.factories import SubjectRequestFactory, build_package
from tests.subjects.factories import AddressFactory, DataSubjectFactory

pytestmark = pytest.mark.django_db


def access_request(agent, subject, *, kind="access", verified=True):
    request = request_receive(kind=kind, channel="app", actor=agent, subject=subject,
                              requester_name="Aziza Tursunova", requester_contact="+998 90 123 45 67",
                              details="Menga barcha maʼlumotlarimning nusxasini yuboring.")
    if verified:
        request = request_verify_identity(request=request, method="sms_code", actor=agent)
    return request


def contents(package: AccessPackage) -> tuple[dict, str, list[str]]:
    with package.file.open("rb") as stored, zipfile.ZipFile(stored) as bundle:
        return (json.loads(bundle.read("data.json")), bundle.read("index.html").decode(), bundle.namelist())


def subject_with_everything(agent, **subject_values):
    """A subject with a value behind every bound catalogue entry."""
    subject = DataSubjectFactory(**subject_values)
    AddressFactory(subject=subject, landmark="Chorsu bozori yonida", postal_code="100011")
    record_save(instance=ServiceUse(subject=subject, service=Service.objects.order_by("code").first(),
                                    started_on=date(2025, 3, 1)), actor=agent, reason="Test data")
    now = timezone.now()
    version = PolicyVersionFactory(published=True)
    policy_accept(subject=subject, version=version, accepted_at=now - timedelta(days=10), channel="app",
                  actor=agent, ip_address="185.74.5.12", user_agent="ShipEx/5.2 (Android 14)")
    consent_grant(subject=subject, purpose=Purpose.objects.get(clause="1.3.2.5"), occurred_at=now - timedelta(days=5),
                  evidence=Evidence(channel="app", ip_address="185.74.5.13", user_agent="ShipEx/5.2 (iOS 18)"),
                  policy_version=version, actor=agent)
    cookie_consent_record(category="analytics", kind="grant", occurred_at=now - timedelta(days=3), subject=subject,
                          visitor_id="v-7f3a90", evidence=Evidence(channel="web", ip_address="185.74.5.14",
                                                                  user_agent="Mozilla/5.0 (X11; Linux)"))
    SubjectRequestFactory(subject=subject, kind="correction", status="done", details="Manzilimni tuzating.",
                          internal_notes="Called back on 12.11.", response_text="Manzilingiz tuzatildi.",
                          identity_method="sms_code", identity_verified_at=now - timedelta(days=20),
                          closed_at=now - timedelta(days=19), received_at=now - timedelta(days=21))
    return subject


# --- refusals ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("situation", "message"), [
    ("identity not verified", "verify the requester's identity first"),
    ("request closed", "is closed"),
    ("another kind of request", "this step is for: Access"),
    ("no subject", "Match the request to a subject"),
])
def test_a_package_is_refused_until_the_request_allows_it_and_nothing_changes(support_agent, tmp_path,
                                                                                  situation, message):
    subject = DataSubjectFactory()
    if situation == "identity not verified":
        request = access_request(support_agent, subject, verified=False)
    elif situation == "request closed":
        request = request_move(request=access_request(support_agent, subject, verified=False), status="refused",
                               actor=support_agent, response_text="Identity could not be verified.")
    elif situation == "another kind of request":
        request = access_request(support_agent, subject, kind="erasure")
    else:
        request = access_request(support_agent, None, verified=False)
    history = request.history.count()

    with pytest.raises(ValidationError, match=message):
        build_package(request, support_agent)

    assert not AccessPackage.objects.exists()
    assert request.history.count() == history
    stored = tmp_path / "access-packages"
    assert not stored.exists() or not any(path.is_file() for path in stored.rglob("*"))


# --- contents ---------------------------------------------------------------------------------------


def test_the_package_is_complete_against_the_catalogue(support_agent):
    subject = subject_with_everything(support_agent, preferred_language="en")
    stranger = subject_with_everything(support_agent, preferred_language="en")
    request = access_request(support_agent, subject)

    build_package(request, support_agent)  # a copy sent before is data held too
    data, html, _names = contents(build_package(request, support_agent))

    catalogue = PersonalDataField.objects.select_related("retention_rule", "system").prefetch_related("purposes")
    bound = {entry.code for entry in catalogue if entry.binding}
    assert set(data["held_data"]) == bound
    assert set(data["held_elsewhere"]) == {entry.code for entry in catalogue if not entry.binding}
    assert set(data["automatically_collected"]) == {
        entry.code for entry in catalogue if entry.collection_method == "1.2.1.2"}
    for entry in catalogue:
        listed = data["held_data"][entry.code] if entry.binding else data["held_elsewhere"][entry.code]
        rule = entry.retention_rule
        assert listed["name"] == entry.name_en
        assert listed["binding"] == entry.binding
        assert sorted((p["clause"], p["name"], p["legal_basis"]["label"]) for p in listed["purposes"]) == sorted(
            (p.clause, p.name_en, p.get_legal_basis_display()) for p in entry.purposes.all())
        assert listed["retention"] == {
            "period": str(rule.period_display), "clock_starts": rule.get_clock_starts_display(),
            "at_the_end": rule.get_end_action_display(), "statutory": rule.is_statutory,
            "legal_reference": rule.legal_reference if rule.is_statutory else ""}
        assert listed["system"]["name"] == entry.system.name
        if entry.binding and entry.code != "disclosure.export_file":
            # Every bound entry has a value for this subject, so none may come out empty (a disclosure's
            # file holds many subjects' data and is described, its record not being one subject's).
            assert listed["values"], f"{entry.code} lists no value"
            assert listed["count"] == len(listed["values"])
            assert all(value["value"] not in (None, "") for value in listed["values"])
            assert f'id="entry-{entry.code}"' in html
    assert any(data["held_data"][code]["retention"]["legal_reference"] for code in bound) or any(
        entry["retention"]["statutory"] for entry in data["held_elsewhere"].values())

    def values(code):
        return [value["value"] for value in data["held_data"][code]["values"]]

    address = subject.addresses.get()
    assert values("identity.full_name") == [subject.full_name]
    assert values("contact.phone") == [subject.phone]
    assert values("document.pinfl") == [subject.pinfl]
    assert values("identity.birth_date") == [subject.birth_date.isoformat()]
    assert data["held_data"]["account.preferred_language"]["values"][0]["label"] == "English"
    assert values("address.street") == [address.street]
    assert values("address.landmark") == ["Chorsu bozori yonida"]
    assert values("account.services_used") == [str(subject.service_uses.get().service)]
    assert values("consent.acceptance_ip") == ["185.74.5.12"]
    assert values("consent.event_user_agent") == ["ShipEx/5.2 (iOS 18)"]
    assert values("consent.document_name") == [subject.full_name]
    assert values("consent.cookie_visitor_id") == ["v-7f3a90"]
    assert values("request.internal_notes") == ["Called back on 12.11."]
    assert values("request.requester_name") == ["Aziza Tursunova", "Aziza Tursunova"]  # the earlier request too
    assert values("request.details") == ["Manzilimni tuzating.", "Menga barcha maʼlumotlarimning nusxasini yuboring."]

    automatic = data["automatically_collected"]
    assert (automatic["consent.cookie_ip"]["held_here"], automatic["consent.cookie_ip"]["count"]) == (True, 1)
    assert automatic["consent.cookie_ip"]["first"] == data["held_data"]["consent.cookie_ip"]["values"][0]["at"]
    elsewhere = PersonalDataField.objects.get(code="technical.ip_address")
    assert automatic["technical.ip_address"]["held_here"] is False
    assert elsewhere.system.name in automatic["technical.ip_address"]["note"]

    # Nothing of another subject's.
    text = json.dumps(data, ensure_ascii=False)
    assert stranger.phone not in text and stranger.account_id not in text and stranger.phone not in html


def court_order(officer, subject, fields):
    disclosure = DisclosureFactory(
        ground="1.4.3.3", recipient=RecipientFactory(kind="state_authority", legal_name="Toshkent shahar IIBB"),
        created_by_id=officer.pk, created_by_username=officer.username,
        legal_authority="Toshkent shahar Yunusobod tumani sudi", legal_document_number="2-1234/2026",
        legal_document_date=timezone.localdate() - timedelta(days=1), fields=fields,
    )
    disclosure_set_subjects(disclosure=disclosure, subjects=[subject], actor=officer, reason="Court order")
    return disclosure


def test_consents_acceptances_and_sent_disclosures_are_in_the_package(support_agent, compliance_officer):
    subject = subject_with_everything(support_agent, preferred_language="en")
    consent = Consent.objects.get(subject=subject)
    consent_withdraw(consent=consent, occurred_at=timezone.now() - timedelta(days=1),
                     evidence=Evidence(channel="app"), actor=support_agent)
    fields = list(PersonalDataField.objects.filter(code__in=["identity.full_name", "contact.phone"]))
    sent = court_order(compliance_officer, subject, fields)
    disclosure_submit(disclosure=sent, actor=compliance_officer)
    disclosure_approve(disclosure=sent, approver=StaffFactory(username="malika", role=COMPLIANCE_OFFICER))
    disclosure_send(disclosure=sent, actor=compliance_officer)
    sent.refresh_from_db()
    draft = court_order(compliance_officer, subject, fields)  # never sent: the recipient has nothing yet
    request = access_request(support_agent, subject)

    data, html, _names = contents(build_package(request, support_agent))

    [state] = data["consents"]
    assert (state["purpose"]["clause"], state["state"], state["state_label"]) == ("1.3.2.5", "withdrawn", "Withdrawn")
    assert state["purpose"]["legal_basis"]["label"] == "Consent of the data subject"
    assert [event["kind"] for event in data["consent_events"]] == ["grant", "withdraw"]
    assert data["consent_events"][0]["policy_version"] == subject.policy_acceptances.get().version.version
    [acceptance] = data["policy_acceptances"]
    assert acceptance["channel"] == "app"
    [cookie] = data["cookie_choices"]
    assert (cookie["category_label"], cookie["kind_label"]) == ("Analytics", "Allowed")

    assert [disclosure["id"] for disclosure in data["disclosures"]] == [sent.pk]
    [disclosure] = data["disclosures"]
    assert disclosure["recipient"]["legal_name"] == "Toshkent shahar IIBB"
    assert disclosure["fields"] == {field.code: field.name_en for field in fields}
    assert disclosure["ground"] == {"clause": "1.4.3.3", "label": "1.4.3.3 — required by law through the "
                                                                  "established procedure"}
    assert disclosure["sent_at"] == timezone.localtime(sent.sent_at).isoformat()
    assert draft.pk not in [d["id"] for d in data["disclosures"]]
    assert "Toshkent shahar IIBB" in html and "1.4.3.3 — required by law" in html
    assert data["record_count"] == AccessPackage.objects.get().record_count > 0


@pytest.mark.parametrize("language", ["ru", "uz"])
def test_the_readable_copy_is_in_the_subjects_language_and_escapes_every_value(support_agent, language):
    subject = subject_with_everything(support_agent, preferred_language=language,
                                      full_name="<script>alert('x')</script> Ivanova")
    request = access_request(support_agent, subject)

    package = build_package(request, support_agent)
    data, html, _names = contents(package)

    full_name = PersonalDataField.objects.get(code="identity.full_name")
    assert package.language == data["language"] == language
    assert f'<html lang="{language}">' in html
    assert data["held_data"]["identity.full_name"]["name"] == getattr(full_name, f"name_{language}")
    assert getattr(full_name, f"name_{language}") in html
    if language == "ru":  # strings the Russian catalogue already translates
        assert "Доступ: копия моих данных (1.5)" in html and "Согласия" in html and "Правовое основание" in html
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; Ivanova" in html
    # The staff member's own language is untouched, and the history speaks it.
    assert translation.get_language() == "en"
    assert package.history.latest().history_change_reason == f"Request #{request.pk}: access package built"


# --- the stored file, its hash and its history ----------------------------------------------------


def test_the_stored_zip_matches_its_sha256_and_stays_in_private_storage(support_agent, tmp_path):
    subject = subject_with_everything(support_agent, preferred_language="en")
    request = access_request(support_agent, subject, kind="information")

    package = build_package(request, support_agent)

    package.refresh_from_db()
    stored = (tmp_path / "access-packages" / package.file.name).read_bytes()
    assert package.sha256 == hashlib.sha256(stored).hexdigest()
    assert package.size == len(stored)
    assert subject.account_id not in package.file.name
    data, _html, names = contents(package)
    assert sorted(names) == ["data.json", "index.html"]
    assert (data["request"]["id"], data["operator"], data["subject"]["account_id"]) == (
        request.pk, "ShipEx", subject.account_id)
    assert (package.built_by_id, package.built_by_username, package.request_id) == (
        support_agent.pk, support_agent.username, request.pk)


def test_each_build_keeps_a_new_package_and_history_names_the_request(support_agent):
    request = access_request(support_agent, subject_with_everything(support_agent))

    first = build_package(request, support_agent)
    second = build_package(request, support_agent)

    assert list(request.access_packages.order_by("id")) == [first, second]
    assert first.file.name != second.file.name
    assert first.file.storage.exists(first.file.name) and second.file.storage.exists(second.file.name)
    created = second.history.get()
    assert (created.history_type, created.history_user_id, created.history_change_reason) == (
        "+", support_agent.pk, f"Request #{request.pk}: access package built")
    assert SubjectRequest.objects.get(pk=request.pk).is_open  # building answers nothing by itself


# --- bounded memory -------------------------------------------------------------------------------


def subject_with_events(agent, count: int):
    """A subject with ``count`` consent-ledger and cookie events (half each), inserted in bulk."""
    subject = DataSubjectFactory(preferred_language="ru")
    version = PolicyVersionFactory(published=True)
    start = timezone.now() - timedelta(days=400)
    consent_grant(subject=subject, purpose=Purpose.objects.get(clause="1.3.2.5"), occurred_at=start,
                  evidence=Evidence(channel="app"), policy_version=version, actor=agent)
    consent = Consent.objects.get(subject=subject)
    half = count // 2
    ConsentEvent.objects.bulk_create([ConsentEvent(
        consent=consent, kind="withdraw" if i % 2 else "grant", occurred_at=start + timedelta(minutes=i + 1),
        channel="app", ip_address=f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}",
        user_agent=f"ShipEx/5.{i % 10} (Android 14; build {i})", policy_version=version,
        subject_name=subject.full_name,
    ) for i in range(half)], batch_size=2000)
    CookieConsentEvent.objects.bulk_create([CookieConsentEvent(
        subject=subject, visitor_id=f"v-{i:08x}", category="analytics", kind="grant" if i % 2 else "withdraw",
        occurred_at=start + timedelta(minutes=i + 1), channel="web", ip_address=f"172.16.{i // 256 % 256}.{i % 256}",
        user_agent=f"Mozilla/5.0 (visit {i})",
    ) for i in range(half)], batch_size=2000)
    return access_request(agent, subject)


def peak_while_building(agent, request) -> tuple[int, AccessPackage]:
    gc.collect()
    tracemalloc.start()
    try:
        package = build_package(request, agent)
        return tracemalloc.get_traced_memory()[1], package
    finally:
        tracemalloc.stop()


def test_memory_stays_bounded_however_many_records_the_subject_has(support_agent):
    small_request, large_request = subject_with_events(support_agent, 2_000), subject_with_events(support_agent, 20_000)
    # Warm up first: templates compiled and the Russian catalogue loaded once do not count for the small one.
    build_package(subject_with_events(support_agent, 20), support_agent)

    small, small_package = peak_while_building(support_agent, small_request)
    large, large_package = peak_while_building(support_agent, large_request)

    assert large_package.record_count > 9 * small_package.record_count  # ten times the data went in …
    data, html, _names = contents(large_package)
    assert len(data["consent_events"]) == 10_001 and len(data["cookie_choices"]) == 10_000
    assert data["held_data"]["consent.cookie_visitor_id"]["count"] == 10_000
    written = len(json.dumps(data, ensure_ascii=False).encode()) + len(html.encode())
    print(f"\npeak memory building: {small / 1e6:.1f} MB for 2,000 events, {large / 1e6:.1f} MB for 20,000 "
          f"(which wrote {written / 1e6:.1f} MB of JSON and HTML, zipped to {large_package.size / 1e6:.2f} MB)")
    assert large < small * 1.5  # … but memory barely moved,
    assert large < written / 2  # and the document was never held whole
