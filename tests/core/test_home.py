"""Each role's home page: only that role's items, each with the right count and a link that lists them."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shipex_privacy.accounts.roles import AUDITOR, COMPLIANCE_OFFICER, SUPPORT_AGENT
from shipex_privacy.audit.models import AccessEvent
from shipex_privacy.core.home import CAP
from shipex_privacy.disclosures.models import Disclosure
from shipex_privacy.protection.models import Incident
from shipex_privacy.retention.models import LegalHold
from shipex_privacy.rights_requests.models import SubjectRequest, end_of_day
from tests.accounts.factories import StaffFactory
from tests.catalogue.factories import PersonalDataFieldFactory, SystemFactory
from tests.disclosures.factories import DisclosureFactory
from tests.protection.factories import IncidentFactory, MeasureFactory, ProtectionLevelFactory
from tests.rights_requests.factories import SubjectRequestFactory
from tests.subjects.factories import DataSubjectFactory

HOME = "/admin/"
SUPPORT_KEYS = {"requests.mine_overdue", "requests.mine_due_today", "requests.mine_due_soon",
                "requests.unassigned_new", "requests.pause_ended"}
COMPLIANCE_KEYS = {"disclosures.to_approve", "disclosures.notifications_overdue", "disclosures.notifications_due",
                   "protection.reviews_overdue", "protection.levels_overdue", "protection.incidents_open",
                   "catalogue.registration_missing", "retention.taken_soon", "requests.per_month",
                   "consents.per_month"}
AUDITOR_KEYS = {"audit.seal_chain", "audit.last_verify", "audit.reveals", "audit.refused_reveals",
                "audit.unusual_readers"}


def home(client, user):
    client.force_login(user)
    response = client.get(HOME)
    assert response.status_code == 200
    return response


def shown(response) -> dict:
    return {item.item.key: item for section in response.context["home_sections"] for item in section.items}


def listed(client, url) -> int:
    """How many rows the linked admin page lists (its changelist's own count)."""
    response = client.get(url)
    assert response.status_code == 200, url
    return response.context["cl"].result_count


def assigned(user, **kwargs):
    return SubjectRequestFactory(assignee_id=user.pk, assignee_username=user.get_username(), **kwargs)


def verified(**kwargs):
    return SubjectRequestFactory(status=SubjectRequest.Status.IN_PROGRESS, identity_method="sms_code",
                                 identity_verified_at=timezone.now(), subject=DataSubjectFactory(), **kwargs)


@pytest.fixture
def support_work(support_agent):
    now = timezone.now()
    other = StaffFactory(username="malika", role=SUPPORT_AGENT)
    assigned(support_agent, due_at=now - timedelta(days=1))  # overdue
    assigned(support_agent, due_at=now - timedelta(days=2))  # overdue
    assigned(support_agent, due_at=max(now + timedelta(minutes=1), end_of_day(timezone.localdate()) - timedelta(
        minutes=1)))  # due today
    assigned(support_agent, due_at=now + timedelta(days=2))  # due soon
    assigned(other, due_at=now - timedelta(days=1))  # someone else's
    SubjectRequestFactory()  # new, nobody's
    SubjectRequestFactory(status=SubjectRequest.Status.REFUSED, closed_at=now, response_text="No.")  # closed
    released = verified(paused_at=now - timedelta(days=3))
    LegalHold.objects.create(subject=released.subject, reason="Court order", legal_reference="2-1187/2026",
                             released_at=now, release_reason="Case closed")
    held = verified(paused_at=now - timedelta(days=3))  # still held: the pause goes on
    LegalHold.objects.create(subject=held.subject, reason="Court order", legal_reference="2-1188/2026")
    return support_agent


def test_support_agent_sees_their_queue_counted_and_linked(client, support_work):
    response = home(client, support_work)
    items = shown(response)
    assert set(items) == SUPPORT_KEYS
    assert {key: items[key].count for key in items} == {
        "requests.mine_overdue": 2, "requests.mine_due_today": 1, "requests.mine_due_soon": 2,
        "requests.unassigned_new": 1, "requests.pause_ended": 1,
    }
    # Each link lists the requests it counts (the paused list shows every paused one, the held one too).
    assert listed(client, items["requests.mine_overdue"].url) == 2
    assert listed(client, items["requests.mine_due_today"].url) == 1
    assert listed(client, items["requests.mine_due_soon"].url) == 2
    assert listed(client, items["requests.unassigned_new"].url) == 1
    assert listed(client, items["requests.pause_ended"].url) == 2
    page = response.content.decode()
    assert 'id="home-requests-mine-overdue" class="home-item home-alarm"' in page
    assert "home-compliance" not in page and "home-auditor" not in page


def test_counts_stop_at_the_cap(client, support_agent):
    for _ in range(CAP + 2):
        SubjectRequestFactory()
    response = home(client, support_agent)
    item = shown(response)["requests.unassigned_new"]
    assert item.count == CAP + 1 and item.count_text == f"{CAP}+"
    assert f">{CAP}+<" in response.content.decode()


def test_compliance_officer_sees_approvals_never_their_own(client, compliance_officer):
    colleague = StaffFactory(username="kamola", role=COMPLIANCE_OFFICER)
    DisclosureFactory(status=Disclosure.Status.SUBMITTED, created_by_id=colleague.pk, created_by_username="kamola")
    DisclosureFactory(status=Disclosure.Status.SUBMITTED, created_by_id=compliance_officer.pk)
    DisclosureFactory()  # a draft
    MeasureFactory(last_reviewed_on=timezone.localdate() - timedelta(days=400))  # review overdue
    MeasureFactory()
    IncidentFactory()
    IncidentFactory(status=Incident.Status.CONTAINED)
    IncidentFactory(status=Incident.Status.CLOSED, closed_at=timezone.now())
    SubjectRequestFactory()
    items = shown(home(client, compliance_officer))
    assert set(items) == COMPLIANCE_KEYS
    assert items["disclosures.to_approve"].count == 1
    assert listed(client, items["disclosures.to_approve"].url) == 1  # the link lists the same: not my own
    assert items["protection.reviews_overdue"].count == 1
    assert listed(client, items["protection.reviews_overdue"].url) == 1
    assert items["protection.incidents_open"].count == 2
    assert listed(client, items["protection.incidents_open"].url) == 2
    assert items["disclosures.notifications_overdue"].count == 0
    assert items["disclosures.notifications_due"].count == 0
    assert listed(client, items["disclosures.notifications_due"].url) == 0
    assert client.get(items["disclosures.notifications_overdue"].url).status_code == 200
    assert client.get(items["retention.taken_soon"].url).status_code == 200
    # This month's bar of the requests chart holds the request received today.
    chart = items["requests.per_month"].detail
    assert len(chart["bars"]) == 12 and chart["bars"][-1].value == 1 and chart["total"] == 1
    assert client.get(items["requests.per_month"].url).status_code == 200
    assert client.get(items["consents.per_month"].url).status_code == 200


def test_compliance_officer_sees_overdue_levels_and_missing_registrations(client, compliance_officer):
    today = timezone.localdate()
    ProtectionLevelFactory(reassess_by=today - timedelta(days=1))
    ProtectionLevelFactory(system=SystemFactory(code="courier-app"), reassess_by=today)  # due today: not yet overdue
    before = shown(home(client, compliance_officer))["catalogue.registration_missing"].count
    unregistered = SystemFactory(code="face-id")
    PersonalDataFieldFactory(code="document.face_scan", sensitivity="biometric", system=unregistered)
    registered = SystemFactory(code="face-id-2", registration_number="RR-0042", registered_on=today)
    PersonalDataFieldFactory(code="document.face_scan_2", sensitivity="biometric", system=registered)
    SystemFactory(code="plain")  # holds nothing that must stay: no registration required
    items = shown(home(client, compliance_officer))
    assert items["protection.levels_overdue"].count == 1
    assert listed(client, items["protection.levels_overdue"].url) == 1
    missing = items["catalogue.registration_missing"]
    assert missing.count == before + 1
    assert listed(client, missing.url) == missing.count


def access(user, action, **kwargs):
    return AccessEvent.objects.create(user_id=user.pk, username=user.get_username(), action=action, **kwargs)


def test_auditor_sees_reveals_refusals_and_unusual_readers(client, auditor, support_agent):
    access(support_agent, AccessEvent.Action.IDENTIFIER_REVEAL, field="pinfl", reason="DSR #4: identity check",
           subject_id=7)
    access(support_agent, AccessEvent.Action.REVEAL_REFUSED, field="pinfl", subject_id=8)
    access(support_agent, AccessEvent.Action.IDENTIFIER_REVEAL, field="phone", reason="DSR #1", subject_id=9,
           at=timezone.now() - timedelta(days=10))  # older than a week: not counted
    curious = StaffFactory(username="bekzod", role=SUPPORT_AGENT)
    for subject_id in range(1, 106):
        access(curious, AccessEvent.Action.SUBJECT_VIEW, subject_id=subject_id)
    for subject_id in range(1, 4):
        access(support_agent, AccessEvent.Action.SUBJECT_VIEW, subject_id=subject_id)
    response = home(client, auditor)
    items = shown(response)
    assert set(items) == AUDITOR_KEYS
    assert items["audit.reveals"].count == 1
    assert [(event.username, event.field) for event in items["audit.reveals"].detail] == [("jasur", "pinfl")]
    assert items["audit.refused_reveals"].count == 1 and items["audit.refused_reveals"].alarming
    assert [(reader.username, reader.subjects) for reader in items["audit.unusual_readers"].detail] == [
        ("bekzod", 105)]
    assert items["audit.seal_chain"].detail.seal is None  # nothing sealed in a fresh database
    assert not items["audit.last_verify"].detail.recorded
    for key in ("audit.reveals", "audit.refused_reveals", "audit.unusual_readers"):
        assert client.get(items[key].url).status_code == 200
    page = response.content.decode()
    assert "bekzod" in page and "home-support-agent" not in page


def test_superuser_sees_all_three_sections(client, db):
    boss = StaffFactory(username="admin", is_superuser=True)
    response = home(client, boss)
    assert [section.role for section in response.context["home_sections"]] == [
        SUPPORT_AGENT, COMPLIANCE_OFFICER, AUDITOR]
    assert set(shown(response)) == SUPPORT_KEYS | COMPLIANCE_KEYS | AUDITOR_KEYS


@pytest.mark.parametrize("role_user", [SUPPORT_AGENT, COMPLIANCE_OFFICER, AUDITOR], indirect=True)
def test_each_role_sees_only_its_own_section(client, role_user):
    response = home(client, role_user)
    expected = {SUPPORT_AGENT: SUPPORT_KEYS, COMPLIANCE_OFFICER: COMPLIANCE_KEYS, AUDITOR: AUDITOR_KEYS}
    assert set(shown(response)) == expected[role_user.groups.get().name]
    assert "All pages" in response.content.decode() or response.context["app_list"]


def test_staff_without_a_role_sees_no_items(client, db):
    response = home(client, StaffFactory(username="newcomer"))
    assert response.context["home_sections"] == []


def grow(now, size, staff):
    """``size`` rows of every kind the home pages count."""
    for index in range(size):
        SubjectRequestFactory(assignee_id=staff[SUPPORT_AGENT].pk, due_at=now - timedelta(days=1 + index % 3))
        SubjectRequestFactory()
        IncidentFactory()
        DisclosureFactory(status=Disclosure.Status.SUBMITTED, created_by_id=staff[AUDITOR].pk)
        access(staff[SUPPORT_AGENT], AccessEvent.Action.IDENTIFIER_REVEAL, field="pinfl", reason="DSR", subject_id=1)
        access(staff[SUPPORT_AGENT], AccessEvent.Action.SUBJECT_VIEW, subject_id=index)


def test_query_count_does_not_grow_with_the_data(client, support_agent, compliance_officer, auditor,
                                                 django_assert_max_num_queries):
    from django.core.cache import cache

    staff = {SUPPORT_AGENT: support_agent, COMPLIANCE_OFFICER: compliance_officer, AUDITOR: auditor}
    now = timezone.now()
    grow(now, 2, staff)
    small = {}
    for role, user in staff.items():
        cache.clear()  # the cached figures are computed again, as on a cold page
        client.force_login(user)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(HOME).status_code == 200
        small[role] = len(queries)
    grow(now, 30, staff)
    for role, user in staff.items():
        cache.clear()
        client.force_login(user)
        with django_assert_max_num_queries(small[role]):
            assert client.get(HOME).status_code == 200


def test_the_auditor_sees_the_chain_head_and_a_stalled_seal(client, auditor, support_agent):
    from shipex_privacy.audit.models import RowDigest
    from shipex_privacy.audit.tamper import seal_next

    access(support_agent, AccessEvent.Action.SUBJECT_VIEW, subject_id=1)
    seal = seal_next(settled_before=timezone.now() + timedelta(seconds=1))
    item = shown(home(client, auditor))["audit.seal_chain"]
    assert item.detail.head == seal.mac and not item.detail.stale
    assert seal.mac in client.get(HOME).content.decode()
    # A digest that has waited two days for its seal: seal_audit is not running.
    access(support_agent, AccessEvent.Action.SUBJECT_VIEW, subject_id=2)
    assert RowDigest.objects.filter(id__gt=seal.last_digest_id).exists()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timezone, "now", lambda: seal.sealed_at + timedelta(days=2))
        response = home(client, auditor)
        assert shown(response)["audit.seal_chain"].detail.stale
    assert "home-bad" in response.content.decode()


def test_titles_with_a_number_follow_each_readers_language(client, db):
    """A title with "%(days)s" in it is translated when the page is drawn, not once when the app loaded."""
    boss = StaffFactory(username="admin", is_superuser=True)
    client.force_login(boss)
    expected = {
        "uz": ["Saqlash qoidalari keyingi 30 kunda oʻchiradigan yozuvlar",
               "3 kun ichida muddati tugaydigan soʻrovlarim"],
        "en": ["Records retention erases in the next 30 days", "My requests due within 3 days"],
        "ru": ["Записи, которые правила хранения удалят в ближайшие 30 дн.",
               "Мои запросы со сроком в ближайшие 3 дн."],
    }
    # Each language after another in one process: a title fixed at import would be right at most once.
    for language in ("uz", "en", "ru", "uz"):
        client.cookies["django_language"] = language
        page = client.get(HOME).content.decode()
        for title in expected[language]:
            assert title in page, (language, title)
        for other, titles in expected.items():
            if other != language:
                assert not any(title in page for title in titles), (language, other)
