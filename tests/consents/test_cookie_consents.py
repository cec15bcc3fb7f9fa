"""Cookie choices (1.6.2): a ledger per subject or visitor and category; the latest choice wins."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from shipex_privacy.consents.models import ConsentEvent, CookieConsentEvent
from shipex_privacy.consents.services import Evidence, cookie_consent_record, cookie_consent_state
from shipex_privacy.subjects.models import DataSubject
from tests.consents.factories import PolicyVersionFactory
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db

WEB = Evidence(channel="web", ip_address="84.54.70.12", user_agent="Mozilla/5.0")
NOW = timezone.now()


def test_visitor_allows_then_withdraws_analytics():
    visitor = "c1d2e3f4"
    cookie_consent_record(visitor_id=visitor, category="analytics", kind="grant", occurred_at=NOW - timedelta(days=9),
                          evidence=WEB)
    cookie_consent_record(visitor_id=visitor, category="analytics", kind="withdraw",
                          occurred_at=NOW - timedelta(days=2), evidence=WEB)
    assert cookie_consent_state(visitor_id=visitor, category="analytics", at=NOW - timedelta(days=5))
    assert not cookie_consent_state(visitor_id=visitor, category="analytics")
    assert not cookie_consent_state(visitor_id=visitor, category="advertising")
    assert cookie_consent_state(visitor_id=visitor, category="strictly_necessary")


def test_subject_choices_are_kept_apart_from_visitors():
    subject = DataSubjectFactory()
    cookie_consent_record(subject=subject, category="advertising", kind="grant", occurred_at=NOW, evidence=WEB)
    assert cookie_consent_state(subject=subject, category="advertising")
    assert not cookie_consent_state(visitor_id="someone-else", category="advertising")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"visitor_id": "", "category": "analytics"}, "cookie_consent_names_someone"),
        ({"visitor_id": "v1", "category": "strictly_necessary"}, "Strictly necessary cookies need no consent"),
        ({"visitor_id": "v1", "category": "analytics", "occurred_at": NOW + timedelta(days=1)}, "future"),
    ],
)
def test_cookie_choice_refusals(values, message):
    with pytest.raises(ValidationError, match=message):
        cookie_consent_record(kind="grant", evidence=WEB, **{"occurred_at": NOW, **values})
    assert not CookieConsentEvent.objects.exists()


@pytest.mark.parametrize("status", [DataSubject.Status.CLOSED, DataSubject.Status.ANONYMISED])
def test_no_cookie_choice_is_recorded_for_an_erased_subject(status):
    # It would tie a new IP address and browser to an account whose data was erased.
    subject = DataSubjectFactory()
    subject.status = status
    subject.save()
    with pytest.raises(ValidationError, match="closed or anonymised"):
        cookie_consent_record(subject=subject, category="analytics", kind="grant", occurred_at=NOW, evidence=WEB)
    assert not CookieConsentEvent.objects.exists()


def test_a_cookie_choice_dated_year_1_is_refused_not_a_server_error():
    moment = NOW.replace(year=1, tzinfo=ZoneInfo("Asia/Tashkent"))
    with pytest.raises(ValidationError, match="not a plausible date"):
        cookie_consent_record(visitor_id="v1", category="analytics", kind="grant", occurred_at=moment, evidence=WEB)
    assert not CookieConsentEvent.objects.exists()


def test_import_command_records_a_file_or_nothing(tmp_path, support_agent):
    PolicyVersionFactory(published=True, version="2026.1")
    DataSubjectFactory(account_id="SX5000001")
    good = tmp_path / "good.csv"
    good.write_text("account_id,purpose,action,occurred_at,channel,policy_version\n"
                    "SX5000001,1.3.2.5,grant,2026-11-01T10:00:00+05:00,app,2026.1\n", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text("account_id,purpose,action,occurred_at,channel,policy_version\n"
                   "SX5000001,1.3.2.5,withdraw,2026-11-20T10:00:00+05:00,app,\n"
                   "SX5000002,1.3.2.5,grant,2026-11-01T10:00:00+05:00,app,2026.1\n", encoding="utf-8")
    call_command("import_consents", str(good), actor=support_agent.username)
    assert ConsentEvent.objects.count() == 1
    with pytest.raises(CommandError, match=r"1 row\(s\) refused"):
        call_command("import_consents", str(bad), actor=support_agent.username)
    assert ConsentEvent.objects.count() == 1  # the valid withdrawal in the bad file was not kept
    with pytest.raises(CommandError, match="No active staff member"):
        call_command("import_consents", str(good), actor="nobody")
