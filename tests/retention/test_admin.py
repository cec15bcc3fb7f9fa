"""The retention screens: legal holds (placed, released, never deleted), runs, and what expires soon."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from shipex_privacy.retention.models import LegalHold
from shipex_privacy.retention.services import retention_apply
from tests.retention.factories import ClosedSubjectFactory, LegalHoldFactory, closed_with_records
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db

# What the compliance officer's role needs for these screens (the role table in accounts/roles.py
# grants them; granted here as well so this test does not depend on when that happens).
OFFICER_PERMISSIONS = (
    "view_legalhold", "add_legalhold", "change_legalhold", "view_historicallegalhold",
    "view_retentionrun", "view_retentionruncount", "view_historicalretentionrun",
    "view_historicalretentionruncount",
)
EXPIRES_SOON_DAYS_AGO = 3 * 365 - 10  # closed almost three years ago: account-3y ends within days


@pytest.fixture
def officer(client, compliance_officer):
    compliance_officer.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="retention", codename__in=OFFICER_PERMISSIONS))
    client.force_login(compliance_officer)
    client.cookies["django_language"] = "en"
    return compliance_officer


def test_every_retention_page_renders_for_a_compliance_officer(client, officer):
    hold = LegalHoldFactory()
    ClosedSubjectFactory(closed_days_ago=EXPIRES_SOON_DAYS_AGO)
    run = retention_apply(dry_run=True, started_by="scheduler")
    pages = [
        reverse("admin:retention_legalhold_changelist"),
        reverse("admin:retention_legalhold_add"),
        reverse("admin:retention_legalhold_change", args=[hold.pk]),
        reverse("admin:retention_legalhold_history", args=[hold.pk]),
        reverse("admin:retention_legalhold_release", args=[hold.pk]),
        reverse("admin:retention_retentionrun_changelist"),
        reverse("admin:retention_retentionrun_change", args=[run.pk]),
        reverse("admin:retention_retentionrun_history", args=[run.pk]),
        reverse("admin:retention_retentionrun_expiring"),
    ]
    for page in pages:
        assert client.get(page).status_code == 200, page


def test_a_hold_is_placed_through_the_add_form(client, officer):
    subject = DataSubjectFactory()
    data = {"subject": subject.pk, "reason": "Customs dispute", "legal_reference": "Court case 4-1001/123"}

    response = client.post(reverse("admin:retention_legalhold_add"), data)

    assert response.status_code == 302
    hold = LegalHold.objects.get(subject=subject)
    assert (hold.placed_by_username, hold.is_active) == ("nodira", True)
    assert hold.history.latest().history_change_reason == "Legal hold placed: Court case 4-1001/123"
    # The same hold twice is refused on the form, with the service's message.
    page = client.post(reverse("admin:retention_legalhold_add"), data).content.decode()
    assert "is already under a legal hold for “Court case 4-1001/123”" in page
    assert LegalHold.objects.count() == 1


def test_a_hold_is_released_with_a_reason_and_never_deleted(client, officer):
    hold = LegalHoldFactory()
    change = reverse("admin:retention_legalhold_change", args=[hold.pk])
    release = reverse("admin:retention_legalhold_release", args=[hold.pk])
    assert f'href="{release}"' in client.get(change).content.decode()

    assert "This field is required" in client.post(release, {"reason": ""}).content.decode()
    response = client.post(release, {"reason": "The court closed the case"})

    assert response.status_code == 302 and response["Location"] == change
    hold.refresh_from_db()
    assert (hold.is_active, hold.release_reason, hold.released_by_username) == (
        False, "The court closed the case", "nodira")
    assert f'href="{release}"' not in client.get(change).content.decode()
    assert client.get(reverse("admin:retention_legalhold_delete", args=[hold.pk])).status_code == 403
    assert client.post(change, {"reason": "changed"}).status_code == 403


@pytest.mark.parametrize("typed", ["sx 1000 777", "SX-1000777", "ＳＸ１０００７７７"])
def test_holds_are_found_by_the_subject_however_the_account_id_is_typed(client, officer, typed):
    held = LegalHoldFactory(subject=DataSubjectFactory(account_id="SX1000777"))
    LegalHoldFactory()
    response = client.get(reverse("admin:retention_legalhold_changelist"), {"q": typed})
    assert [hold.pk for hold in response.context["cl"].result_list] == [held.pk]


def test_release_needs_the_change_permission(client, auditor):
    hold = LegalHoldFactory()
    client.force_login(auditor)
    assert client.post(reverse("admin:retention_legalhold_release", args=[hold.pk]),
                       {"reason": "x"}).status_code == 403
    hold.refresh_from_db()
    assert hold.is_active


def test_a_run_is_read_only_and_shows_its_counts(client, officer):
    closed_with_records()
    run = retention_apply(dry_run=False, started_by="scheduler")

    page = client.get(reverse("admin:retention_retentionrun_change", args=[run.pk])).content.decode()

    assert "subjects.Address" in page and "3 years after the account is closed" in page
    assert client.get(reverse("admin:retention_retentionrun_add")).status_code == 403
    assert client.get(reverse("admin:retention_retentionrun_delete", args=[run.pk])).status_code == 403


def test_what_expires_in_the_next_30_days(client, officer):
    soon = ClosedSubjectFactory(closed_days_ago=EXPIRES_SOON_DAYS_AGO)
    later = ClosedSubjectFactory(closed_days_ago=365)
    LegalHoldFactory(subject=soon)
    url = reverse("admin:retention_retentionrun_expiring")

    page = client.get(url).content.decode()

    assert reverse("admin:subjects_datasubject_change", args=[soon.pk]) in page
    assert reverse("admin:subjects_datasubject_change", args=[later.pk]) not in page
    assert "1 record reaches the end of “3 years after the account is closed” (delete); 1 kept under a legal hold" \
        in page
    assert "Rules not applied in this back office" in page


def test_the_expiring_page_runs_the_same_queries_however_many_records(client, officer):
    url = reverse("admin:retention_retentionrun_expiring")
    ClosedSubjectFactory(closed_days_ago=EXPIRES_SOON_DAYS_AGO)
    client.get(url)  # warm up: sessions, permissions, content types
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    ClosedSubjectFactory.create_batch(6, closed_days_ago=EXPIRES_SOON_DAYS_AGO)
    with CaptureQueriesContext(connection) as seven:
        page = client.get(url).content.decode()
    assert "7 records reach the end" in page
    assert len(seven) == len(one)
