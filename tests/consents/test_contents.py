"""What a consent must contain (Ministry of Justice model procedure on consent, 15.11.2023 no. 3478):
the operator and its TIN, the subject's name, the purpose, the data, the term and the transfers; consent
to special or biometric data only written or electronic; the receipt shows it all in uz, ru and en."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext

from shipex_privacy.catalogue.models import PersonalDataField, Purpose
from shipex_privacy.consents.checks import check_operator
from shipex_privacy.consents.models import Consent, ConsentEvent, term_end
from shipex_privacy.consents.services import (
    ConsentDocument,
    Evidence,
    consent_grant,
    consent_import,
)
from tests.catalogue.factories import PersonalDataFieldFactory
from tests.consents.factories import PolicyVersionFactory
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


@pytest.fixture
def policy():
    return PolicyVersionFactory(published=True, version="2026.1")


@pytest.fixture
def advertising():
    return Purpose.objects.get(clause="1.3.2.5")


@pytest.fixture
def subject():
    return DataSubjectFactory(account_id="SX3100001", full_name="Karimova Dilnoza Rustamovna")


def grant(subject, purpose, policy, channel="app", **options):
    return consent_grant(subject=subject, purpose=purpose, occurred_at=NOW - timedelta(days=1), policy_version=policy,
                         evidence=Evidence(channel=channel), actor=None, **options)


# --- the operator, from settings -------------------------------------------------------------------------


@pytest.mark.parametrize("tin", ["30123456", "3012345678", "30123456X", "301 234 567", "٣٠١٢٣٤٥٦٧", ""])
def test_a_tin_that_is_not_nine_digits_fails_the_system_check(settings, tin):
    settings.SHIPEX_OPERATOR_TIN = tin
    assert [error.id for error in check_operator()] == ["consents.E001"]


def test_the_demo_operator_passes_and_an_empty_name_fails(settings):
    assert check_operator() == []
    settings.SHIPEX_OPERATOR_NAME = "  "
    assert [error.id for error in check_operator()] == ["consents.E002"]


def test_a_grant_carries_the_operator_the_subject_the_purposes_data_and_the_transfers(
        settings, subject, advertising, policy):
    settings.SHIPEX_OPERATOR_NAME, settings.SHIPEX_OPERATOR_TIN = "«ShipEx» MChJ", "309876543"
    event = grant(subject, advertising, policy, document=ConsentDocument(allows_cross_border_transfer=True))
    purposes_data = sorted(PersonalDataField.objects.filter(purposes=advertising).values_list("code", flat=True))
    assert purposes_data  # the seeded catalogue lists data for 1.3.2.5
    assert (event.operator_name, event.operator_tin, event.subject_name) == (
        "«ShipEx» MChJ", "309876543", "Karimova Dilnoza Rustamovna")
    assert event.covered_data == purposes_data
    assert (event.allows_third_party_transfer, event.allows_cross_border_transfer) == (False, True)
    assert event.expires_at is None  # no term: until withdrawn


def test_the_data_a_document_names_is_kept_as_it_named_it(subject, advertising, policy):
    event = grant(subject, advertising, policy, document=ConsentDocument(covered_data=["contact.email"]))
    assert event.covered_data == ["contact.email"]


# --- special and biometric data: written or electronic only ---------------------------------------------


@pytest.fixture
def biometric():
    return PersonalDataField.objects.get(code="document.face_photo")


def test_a_biometric_consent_by_phone_is_refused_and_nothing_is_recorded(subject, advertising, policy, biometric):
    with pytest.raises(ValidationError) as refused:
        grant(subject, advertising, policy, channel="call_centre",
              document=ConsentDocument(covered_data=["contact.email", biometric.code]))
    assert refused.value.error_list[0].code == "channel_not_written"
    assert "must be written or electronic" in refused.value.messages[0]
    assert "document.face_photo" in refused.value.messages[0]
    assert not Consent.objects.exists() and not ConsentEvent.objects.exists()


@pytest.mark.parametrize("channel", ["app", "web", "office"])
def test_a_biometric_consent_written_or_electronic_is_recorded(subject, advertising, policy, biometric, channel):
    event = grant(subject, advertising, policy, channel=channel,
                  document=ConsentDocument(covered_data=[biometric.code]))
    assert event.consent.is_in_force() and event.channel == channel


def test_special_data_the_purpose_covers_needs_writing_too(subject, policy):
    purpose = Purpose.objects.get(clause="1.3.2.5")
    PersonalDataFieldFactory(code="health.disability", sensitivity="special", purposes=[purpose])
    with pytest.raises(ValidationError, match=r"health\.disability"):
        grant(subject, purpose, policy, channel="call_centre")
    assert grant(subject, purpose, policy, channel="office").covered_data.count("health.disability") == 1


def test_general_data_may_be_consented_to_by_phone(subject, advertising, policy):
    assert grant(subject, advertising, policy, channel="call_centre").consent.is_in_force()


def test_the_withdrawal_of_a_biometric_consent_is_taken_by_phone(subject, advertising, policy, biometric):
    from shipex_privacy.consents.services import consent_withdraw

    consent = grant(subject, advertising, policy, document=ConsentDocument(covered_data=[biometric.code])).consent
    consent_withdraw(consent=consent, occurred_at=NOW, evidence=Evidence(channel="call_centre"), actor=None)
    consent.refresh_from_db()
    assert consent.state == Consent.State.WITHDRAWN  # withdrawing is never made harder than granting


def test_the_csv_import_refuses_a_disclosure_consent_by_phone_to_data_with_biometrics(subject, policy, support_agent):
    # 1.3.2.1 covers the face photo in the catalogue: a consent to disclose its data is one to biometric data.
    header = "account_id,purpose,action,occurred_at,channel,policy_version,recipient_kind\n"
    row = f"SX3100001,1.3.2.1,grant,{(NOW - timedelta(hours=2)).isoformat()},{{}},2026.1,state_authority\n"
    report = consent_import(lines=[header, row.format("call_centre")], actor=support_agent)
    assert not report.recorded and "must be written or electronic" in report.errors[0][1]
    assert not Consent.objects.exists()
    assert consent_import(lines=[header, row.format("office")], actor=support_agent).granted == 1


def test_the_grant_form_refuses_a_biometric_consent_by_phone(client, support_agent, subject, advertising, policy):
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    response = client.post(reverse("admin:consents_consent_grant"), {
        "account_id": "SX3100001", "purpose": advertising.pk, "channel": "call_centre",
        "occurred_at": timezone.localtime().strftime("%Y-%m-%d %H:%M:%S"), "policy_version": policy.pk,
        "covered_data": "document.face_photo",
    })
    assert response.status_code == 200
    assert "must be written or electronic" in " ".join(response.context["form"].non_field_errors())
    assert not Consent.objects.exists()


# --- the term, through the grant form --------------------------------------------------------------------


def test_the_grant_form_takes_the_terms_last_day(client, support_agent, subject, advertising, policy):
    client.force_login(support_agent)
    data = {"account_id": "SX3100001", "purpose": advertising.pk, "channel": "web", "policy_version": policy.pk,
            "occurred_at": timezone.localtime().strftime("%Y-%m-%d %H:%M:%S"), "term_ends_on": "2027-06-30"}
    assert client.post(reverse("admin:consents_consent_grant"), data).status_code == 302
    consent = Consent.objects.get(subject=subject)
    assert timezone.localtime(consent.expires_at).isoformat() == "2027-07-01T00:00:00+05:00"
    assert consent.events.get().term_last_day.isoformat() == "2027-06-30"


def test_the_grant_form_refuses_a_term_given_twice(client, support_agent, subject, advertising, policy):
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    response = client.post(reverse("admin:consents_consent_grant"), {
        "account_id": "SX3100001", "purpose": advertising.pk, "channel": "web", "policy_version": policy.pk,
        "occurred_at": timezone.localtime().strftime("%Y-%m-%d %H:%M:%S"), "term_ends_on": "2027-06-30",
        "expires_at": "2027-06-30 18:00:00"})
    assert response.status_code == 200
    assert "not both" in " ".join(response.context["form"].non_field_errors())
    assert not Consent.objects.exists()


# --- the receipt, in each language ------------------------------------------------------------------------


@pytest.fixture
def receipt_event(subject, advertising, policy):
    return grant(subject, advertising, policy, expires_at=term_end(NOW.date() + timedelta(days=365)),
                 document=ConsentDocument(allows_third_party_transfer=True))


@pytest.mark.parametrize("language", ["uz", "ru", "en"])
def test_the_receipt_shows_every_required_content_in_each_language(client, auditor, receipt_event, language):
    client.force_login(auditor)
    url = reverse("admin:consents_consentevent_receipt", args=[receipt_event.pk])
    page = client.get(url, {"language": language}).content.decode()
    with translation.override(language):
        purpose = receipt_event.consent.purpose
        data_names = [PersonalDataField.objects.get(code=code).name for code in receipt_event.covered_data]
        yes, no, _maybe = gettext("yes,no,maybe").split(",")
        term = gettext("until %(date)s inclusive; it lapses on the day after") % {
            "date": date_format(receipt_event.term_last_day, "DATE_FORMAT")}
        expected = [
            f'<html lang="{language}">',
            f"<th>{gettext('Operator')}</th><td>ShipEx LLC, {gettext('TIN')} 301234567</td>",
            f"<th>{gettext('Data subject')}</th><td>Karimova Dilnoza Rustamovna (SX3100001)</td>",
            f"<th>{gettext('Purpose')}</th><td>1.3.2.5 — {purpose.name}</td>",
            f"<th>{gettext('Data covered')}</th><td>{'; '.join(data_names)}</td>",
            f"<th>{gettext('Term')}</th><td>{term}</td>",
            f"<th>{gettext('Transfer to third parties')}</th><td>{yes}</td>",
            f"<th>{gettext('Cross-border transfer')}</th><td>{no}</td>",
        ]
        assert getattr(purpose, f"name_{language}") == purpose.name and data_names  # names in this language
    for content in expected:
        assert content in page, content
    # The procedure's reference is unconfirmed: staff see it, never a subject's receipt.
    assert "3478" not in page and "counsel" not in page


def test_the_receipt_is_in_the_subjects_own_language_unless_another_is_asked(client, auditor, advertising, policy):
    event = grant(DataSubjectFactory(preferred_language="ru"), advertising, policy)
    client.force_login(auditor)
    url = reverse("admin:consents_consentevent_receipt", args=[event.pk])
    assert '<html lang="ru">' in client.get(url).content.decode()
    assert '<html lang="ru">' in client.get(url, {"language": "xx"}).content.decode()  # no such language
    english = client.get(url, {"language": "en"}).content.decode()
    assert '<html lang="en">' in english and 'href="?language=uz"' in english and 'href="?language=ru"' in english


def test_the_receipt_of_a_consent_until_withdrawn_says_so(client, auditor, subject, advertising, policy):
    event = grant(subject, advertising, policy)
    client.force_login(auditor)
    page = client.get(reverse("admin:consents_consentevent_receipt", args=[event.pk]), {"language": "en"})
    assert "<th>Term</th><td>until withdrawn</td>" in page.content.decode()


def test_staff_see_where_the_required_contents_come_from(client, compliance_officer, receipt_event):
    client.force_login(compliance_officer)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("admin:consents_consent_change", args=[receipt_event.consent_id])).content.decode()
    assert "no. 3478 (to be confirmed by counsel)" in page
    grant_page = client.get(reverse("admin:consents_consent_grant")).content.decode()
    assert "no. 3478 (to be confirmed by counsel)" in grant_page
