"""The consent screens: withdrawal from the subject page, grant form, receipts, import, report."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from shipex_privacy.catalogue.models import Purpose
from shipex_privacy.consents.models import Consent, ConsentEvent, Counter
from shipex_privacy.consents.services import Evidence, consent_grant
from tests.consents.factories import PolicyVersionFactory
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def policy():
    return PolicyVersionFactory(published=True, version="2026.1")


@pytest.fixture
def consent(policy):
    subject = DataSubjectFactory(account_id="SX3000001", preferred_language="ru")
    return consent_grant(
        subject=subject, purpose=Purpose.objects.get(clause="1.3.2.5"), policy_version=policy, actor=None,
        occurred_at=timezone.now() - timedelta(days=3), evidence=Evidence(channel="app"),
    ).consent


def test_agent_withdraws_from_the_subject_page_in_two_clicks(client, support_agent, consent):
    client.force_login(support_agent)
    subject_page = reverse("admin:subjects_datasubject_change", args=[consent.subject_id])
    page = client.get(subject_page).content.decode()
    withdraw = reverse("admin:consents_consent_withdraw", args=[consent.pk])
    assert f'href="{withdraw}?next=' in page                                   # click 1: the button
    assert client.get(withdraw, {"next": subject_page}).status_code == 200
    response = client.post(f"{withdraw}?next={subject_page}", {                # click 2: confirm
        "occurred_at_0": "", "occurred_at": timezone.localtime().strftime("%Y-%m-%d %H:%M:%S"),
        "channel": "call_centre", "evidence_reference": "CALL-2026-11-25-0042", "note": "",
    })
    assert response.status_code == 302 and response["Location"] == subject_page
    consent.refresh_from_db()
    assert consent.state == Consent.State.WITHDRAWN
    event = consent.events.get(kind="withdraw")
    assert (event.recorded_by_username, event.channel, event.evidence_reference) == (
        support_agent.username, "call_centre", "CALL-2026-11-25-0042")
    assert withdraw not in client.get(subject_page).content.decode()


def test_withdrawing_twice_shows_why_and_records_nothing(client, support_agent, consent):
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    url = reverse("admin:consents_consent_withdraw", args=[consent.pk])
    data = {"occurred_at": timezone.localtime().strftime("%Y-%m-%d %H:%M:%S"), "channel": "app"}
    client.post(url, data)
    response = client.post(url, data)
    assert response.status_code == 200
    assert "not in force" in " ".join(response.context["form"].non_field_errors())
    assert consent.events.count() == 2


def test_auditors_cannot_withdraw(client, auditor, consent):
    client.force_login(auditor)
    url = reverse("admin:consents_consent_withdraw", args=[consent.pk])
    assert client.post(url, {"channel": "app"}).status_code == 403
    consent.refresh_from_db()
    assert consent.state == Consent.State.GRANTED


@pytest.mark.parametrize("typed", ["sx3000002", "SX 3000 002", "sx-3000-002", "SX٣٠٠٠٠٠٢", "ＳＸ３０００００２"])
def test_agent_records_a_consent_with_the_grant_form(client, support_agent, policy, typed):
    subject = DataSubjectFactory(account_id="SX3000002")
    client.force_login(support_agent)
    response = client.post(reverse("admin:consents_consent_grant"), {
        "account_id": typed, "purpose": Purpose.objects.get(clause="1.3.2.5").pk,
        "occurred_at": timezone.localtime().strftime("%Y-%m-%d %H:%M:%S"), "channel": "office",
        "policy_version": policy.pk, "covered_data": "contact.email, identity.full_name",
        "allows_third_party_transfer": "on",
    })
    assert response.status_code == 302
    event = ConsentEvent.objects.get(consent__subject=subject)
    assert event.covered_data == ["contact.email", "identity.full_name"] and event.allows_third_party_transfer


@pytest.mark.parametrize("typed", ["SX3000009", "<b>x</b>", "SX3000002' OR 1=1 --"])
def test_grant_form_refuses_an_unknown_account_id_clearly(client, support_agent, policy, typed):
    DataSubjectFactory(account_id="SX3000002")
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    response = client.post(reverse("admin:consents_consent_grant"), {
        "account_id": typed, "purpose": Purpose.objects.get(clause="1.3.2.5").pk,
        "occurred_at": timezone.localtime().strftime("%Y-%m-%d %H:%M:%S"), "channel": "office",
        "policy_version": policy.pk,
    })
    assert response.status_code == 200
    assert response.context["form"].errors["account_id"] == ["No subject with this account id."]
    assert not Consent.objects.exists()


def test_grant_form_refuses_a_purpose_without_consent(client, support_agent, policy):
    DataSubjectFactory(account_id="SX3000003")
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    response = client.post(reverse("admin:consents_consent_grant"), {
        "account_id": "SX3000003", "purpose": Purpose.objects.get(clause="1.3.2.2").pk,
        "occurred_at": timezone.localtime().strftime("%Y-%m-%d %H:%M:%S"), "channel": "office",
        "policy_version": policy.pk,
    })
    assert response.status_code == 200
    assert "does not rest on consent" in " ".join(response.context["form"].non_field_errors())
    assert not Consent.objects.exists()


def test_receipt_is_in_the_subjects_language_and_names_what_was_agreed(client, auditor, consent):
    event = consent.events.get()
    client.force_login(auditor)
    page = client.get(reverse("admin:consents_consentevent_receipt", args=[event.pk])).content.decode()
    assert '<html lang="ru">' in page
    assert consent.subject.full_name in page and "SX3000001" in page
    assert "1.3.2.5" in page and "2026.1" in page and event.policy_version.content_hash[:16] in page


def test_counter_parameter_changes_are_kept_with_their_reason(client, compliance_officer):
    counter = Counter.objects.get(name="Yandex Metrica")
    client.force_login(compliance_officer)
    url = reverse("admin:consents_counter_change", args=[counter.pk])
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value not in (None, False)}
    data.update(purposes=[p.pk for p in counter.purposes.all()], cookies=[c.pk for c in counter.cookies.all()],
                session_replay="on", change_reason="Marketing turned on Webvisor, ticket MKT-118")
    for name in ("collects_ip_address", "tracks_clicks", "active"):
        if getattr(counter, name):
            data[name] = "on"
    assert client.post(url, data).status_code == 302
    latest = counter.history.latest()
    assert latest.session_replay and latest.history_change_reason == "Marketing turned on Webvisor, ticket MKT-118"
    assert [change.field for change in latest.diff_against(latest.prev_record).changes] == ["session_replay"]


def test_consent_report_shows_the_rate_per_purpose(client, compliance_officer, consent):
    client.force_login(compliance_officer)
    response = client.get(reverse("admin:consents_consent_report"))
    (series,) = response.context["series"]
    assert series["purpose"].clause == "1.3.2.5"
    assert series["points"][-1].granted == 1 and series["points"][-1].rate == 100.0
    assert "<polyline" in response.content.decode()


def upload(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("consents.csv", text.encode(), content_type="text/csv")


HEADER = "account_id,purpose,action,occurred_at,channel,policy_version,expires_at\n"


def test_import_records_a_clean_file(client, support_agent, policy):
    DataSubjectFactory(account_id="SX4000001")
    DataSubjectFactory(account_id="SX4000002")
    client.force_login(support_agent)
    csv = HEADER + (
        "SX4000001,1.3.2.5,grant,2026-11-01T10:00:00+05:00,app,2026.1,\n"
        "SX4000002,1.3.2.5,grant,2026-11-02T10:00:00+05:00,web,2026.1,2027-11-02T10:00:00+05:00\n"
        "SX4000001,1.3.2.5,withdraw,2026-11-20T09:00:00+05:00,app,,\n"
    )
    response = client.post(reverse("admin:consents_consent_import"), {"file": upload(csv)})
    report = response.context["report"]
    assert (report.recorded, report.granted, report.withdrawn) == (True, 2, 1)
    assert ConsentEvent.objects.count() == 3


def test_import_with_a_bad_row_records_nothing_and_names_every_bad_row(client, support_agent, policy):
    DataSubjectFactory(account_id="SX4000001")
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    csv = HEADER + (
        "SX4000001,1.3.2.5,grant,2026-11-01T10:00:00+05:00,app,2026.1,\n"    # fine on its own
        "SX9999999,1.3.2.5,grant,2026-11-01T10:00:00+05:00,app,2026.1,\n"    # unknown subject
        "SX4000001,1.3.2.5,grant,01.11.2026,app,2026.1,\n"                   # malformed date
        "SX4000001,1.3.2.2,grant,2026-11-03T10:00:00+05:00,app,2026.1,\n"    # purpose needs no consent
        "SX4000001,1.3.2.5,grant,2026-11-04T10:00:00+05:00,app,1999.9,\n"    # unknown policy version
    )
    report = client.post(reverse("admin:consents_consent_import"), {"file": upload(csv)}).context["report"]
    assert not report.recorded
    assert [line for line, _message in report.errors] == [3, 4, 5, 6]
    messages = dict(report.errors)
    assert "No subject with account id SX9999999" in messages[3]
    assert "is not a date and time" in messages[4]
    assert "does not rest on consent" in messages[5]
    assert "Unknown policy version" in messages[6]
    assert not ConsentEvent.objects.exists() and not Consent.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name,phone\nAziz,+998901234567\n", "Columns missing"),
        (HEADER, "The file has no rows"),
        (HEADER + "\n\n", "The file has no rows"),
        ("\n\n", "The file is empty"),
    ],
)
def test_import_refuses_files_it_cannot_read(client, support_agent, content, message):
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    page = client.post(reverse("admin:consents_consent_import"), {"file": upload(content)}).content.decode()
    assert message in page
    # The file is refused as a whole: the page does not count its header as "1 row refused".
    assert "The file cannot be imported as it is; nothing was recorded." in page
    assert "refused; nothing was recorded" not in page
    assert not ConsentEvent.objects.exists()


def test_import_counts_refused_rows_when_rows_are_wrong(client, support_agent):
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    page = client.post(reverse("admin:consents_consent_import"),
                       {"file": upload(HEADER + "SX9999998,1.3.2.5\nSX9999999,1.3.2.5\n")}).content.decode()
    assert "2 rows were refused; nothing was recorded." in page
    assert "The file cannot be imported as it is" not in page


def test_import_refuses_a_file_that_is_not_utf8(client, support_agent):
    client.force_login(support_agent)
    response = client.post(reverse("admin:consents_consent_import"),
                           {"file": SimpleUploadedFile("c.csv", "account_id\nЖ".encode("cp1251"))})
    assert "file" in response.context["form"].errors


@pytest.mark.parametrize("next_url", ["//evil.example/phish", "https://evil.example/", "javascript:alert(1)"])
def test_withdrawal_never_sends_staff_to_another_site(client, support_agent, consent, next_url):
    client.force_login(support_agent)
    url = reverse("admin:consents_consent_withdraw", args=[consent.pk])
    page = client.get(url, {"next": next_url}).content.decode()
    assert next_url not in page
    response = client.post(f"{url}?next={next_url}", {
        "occurred_at": timezone.localtime().strftime("%Y-%m-%d %H:%M:%S"), "channel": "app"})
    assert response["Location"] == reverse("admin:consents_consent_change", args=[consent.pk])


def test_opening_a_receipt_is_logged(client, auditor, consent):
    from shipex_privacy.audit.models import AccessEvent

    client.force_login(auditor)
    client.get(reverse("admin:consents_consentevent_receipt", args=[consent.events.get().pk]))
    logged = AccessEvent.objects.get(username=auditor.username, detail="consent receipt")
    assert (logged.action, logged.subject_id) == ("subject.view", consent.subject_id)


def test_the_page_of_a_subject_without_the_current_policy_masks_identifiers_and_is_logged(client, auditor, policy):
    from shipex_privacy.audit.models import AccessEvent

    subject = DataSubjectFactory(phone="+998901234567", email="aziz.karimov@mail.uz", pinfl="31505900140019",
                                 passport="AB1234567")
    client.force_login(auditor)
    response = client.get(reverse("admin:consents_subjectwithoutcurrentpolicy_change", args=[subject.pk]))
    content = response.content.decode()
    for full in ("+998901234567", "+998 90 123 45 67", "aziz.karimov@mail.uz", "31505900140019", "AB1234567"):
        assert full not in content, full
    for masked in ("+998 90 *** ** 67", "a***@mail.uz", "3***********19", "AB*****67"):
        assert masked in content, masked
    assert reverse("admin:subjects_datasubject_change", args=[subject.pk]) in content
    event = AccessEvent.objects.get()
    assert (event.action, event.subject_id, event.username) == ("subject.view", subject.pk, auditor.username)


@pytest.mark.parametrize("page", ["consent", "event"])
def test_opening_a_consent_or_its_event_is_a_read_of_the_subject_the_access_log_keeps(client, auditor, consent,
                                                                                     page):
    from shipex_privacy.audit.models import AccessEvent

    obj = consent if page == "consent" else consent.events.get()
    client.force_login(auditor)
    assert client.get(reverse(f"admin:consents_{obj._meta.model_name}_change", args=[obj.pk])).status_code == 200
    event = AccessEvent.objects.get()
    assert (event.action, event.subject_id, event.object_type, event.object_id) == (
        "subject.view", consent.subject_id, obj._meta.label_lower, str(obj.pk))
