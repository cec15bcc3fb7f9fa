"""Staff e-mail through a real SMTP server: who gets which mail, in which language, once a day."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone, translation

from shipex_privacy.accounts.roles import AUDITOR, COMPLIANCE_OFFICER, SUPPORT_AGENT
from shipex_privacy.audit.tamper import Finding, VerifyReport
from shipex_privacy.notifications.models import NotificationPreference, SentMail
from shipex_privacy.notifications.services import (
    send_incident_alert,
    send_morning_digests,
    send_verify_audit_alert,
)
from shipex_privacy.rights_requests.models import SubjectRequest
from tests.accounts.factories import StaffFactory
from tests.disclosures.factories import DisclosureFactory, RecipientFactory
from tests.disclosures.test_workflow import sent
from tests.notifications.factories import NotificationPreferenceFactory
from tests.protection.factories import IncidentFactory, MeasureFactory
from tests.rights_requests.factories import SubjectRequestFactory
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db

MARKUP = "<b>Evil</b> & Co"


def assigned(agent, due_in: timedelta, **kwargs) -> SubjectRequest:
    return SubjectRequestFactory(assignee_id=agent.pk, assignee_username=agent.username,
                                 due_at=timezone.now() + due_in, **kwargs)


@pytest.fixture
def staff():
    return {
        "agent": StaffFactory(username="aziza", role=SUPPORT_AGENT, language="ru"),
        "other_agent": StaffFactory(username="bekzod", role=SUPPORT_AGENT),
        "officer": StaffFactory(username="nodira", role=COMPLIANCE_OFFICER, language="en"),
        "second_officer": StaffFactory(username="jasur", role=COMPLIANCE_OFFICER, language="uz"),
        "auditor": StaffFactory(username="malika", role=AUDITOR, language="en"),
    }


@pytest.fixture
def work(staff):
    agent = staff["agent"]
    return {
        "overdue": assigned(agent, -timedelta(days=1)),
        "due_soon": assigned(agent, timedelta(days=2), kind=SubjectRequest.Kind.ERASURE),
        "later": assigned(agent, timedelta(days=10)),
        "paused": assigned(agent, -timedelta(days=1), paused_at=timezone.now()),
        "someone_elses": assigned(staff["other_agent"], timedelta(days=1)),
        # Submitted by one officer: only the other may approve it, so only the other is told.
        "disclosure": DisclosureFactory(status="submitted", created_by_id=staff["officer"].pk,
                                        created_by_username="nodira", recipient=RecipientFactory(legal_name=MARKUP)),
        "measure": MeasureFactory(title="Locked server room, Yunusobod depot",
                                  last_reviewed_on=timezone.localdate() - timedelta(days=400)),
        "notified": sent(staff["officer"], staff["second_officer"], [DataSubjectFactory()], notify=True),
    }


def test_each_staff_member_gets_their_own_digest_in_their_language(smtp, staff, work):
    summary = send_morning_digests()

    assert summary.sent == 4  # the auditor has nothing in a digest
    assert sorted(mail.recipients[0] for mail in smtp.mails) == sorted(
        f"{name}@shipex.uz" for name in ("aziza", "bekzod", "nodira", "jasur"))
    [agent_mail] = smtp.to("aziza@shipex.uz")
    assert agent_mail.message["Content-Language"] == "ru"
    assert '<html lang="ru">' in agent_mail.html
    with translation.override("ru"):
        erasure_in_russian = str(SubjectRequest.Kind.ERASURE.label)
    assert erasure_in_russian != str(SubjectRequest.Kind.ERASURE.label)  # the label is really translated
    assert erasure_in_russian in agent_mail.text
    # Their overdue and soon-due requests, linked to the admin; not the later one, the paused one or another's.
    for request in (work["overdue"], work["due_soon"]):
        assert f"DSR #{request.pk}" in agent_mail.text
        assert f"http://testserver/admin/rights_requests/subjectrequest/{request.pk}/change/" in agent_mail.html
    for request in (work["later"], work["paused"], work["someone_elses"]):
        assert f"DSR #{request.pk} " not in agent_mail.text
    assert "OVERDUE" not in agent_mail.subject


def test_officers_hear_of_approvals_notifications_and_reviews_but_never_of_their_own_disclosure(smtp, staff, work):
    send_morning_digests()

    [author] = smtp.to("nodira@shipex.uz")
    [approver] = smtp.to("jasur@shipex.uz")
    assert author.subject.startswith("ShipEx privacy: your digest for")
    assert "Disclosures waiting for your approval" not in author.text
    assert "Disclosures waiting for your approval" in approver.html or approver.message["Content-Language"] == "uz"
    assert f"admin/disclosures/disclosure/{work['disclosure'].pk}/change/" in approver.html
    assert f"admin/disclosures/disclosure/{work['disclosure'].pk}/change/" not in author.html
    for mail in (author, approver):
        # The three-day notification of the sent disclosure's subject, and the overdue review.
        assert f"admin/disclosures/disclosure/{work['notified'].pk}/change/" in mail.html
        assert "Locked server room, Yunusobod depot" in mail.text
        assert f"admin/protection/measure/{work['measure'].pk}/change/" in mail.html
    [agent_mail] = smtp.to("aziza@shipex.uz")
    assert "Yunusobod" not in agent_mail.text  # support agents get no compliance sections


def test_what_staff_typed_is_escaped_in_the_html_and_kept_as_typed_in_the_text(smtp, staff, work):
    send_morning_digests()

    [approver] = smtp.to("jasur@shipex.uz")
    assert "&lt;b&gt;Evil&lt;/b&gt; &amp; Co" in approver.html
    assert "<b>Evil" not in approver.html
    assert MARKUP in approver.text


def test_a_second_run_the_same_day_sends_nothing_and_the_next_day_sends_again(smtp, staff, work):
    first = send_morning_digests()
    second = send_morning_digests()

    assert (first.sent, second.sent, second.already_sent) == (4, 0, 4)
    assert len(smtp.mails) == 4
    assert SentMail.objects.filter(kind=SentMail.Kind.DIGEST).count() == 4
    tomorrow = send_morning_digests(now=timezone.now() + timedelta(days=1))
    assert tomorrow.sent == 4
    assert len(smtp.mails) == 8


def test_staff_who_switched_a_section_off_do_not_get_it(smtp, staff, work):
    NotificationPreferenceFactory(user=staff["second_officer"], measure_reviews_overdue=False,
                                  subject_notifications_due=False)
    NotificationPreferenceFactory(user=staff["agent"], requests_due=False)

    send_morning_digests()

    [approver] = smtp.to("jasur@shipex.uz")
    assert "Yunusobod" not in approver.text
    assert f"admin/disclosures/disclosure/{work['notified'].pk}/change/" not in approver.html
    assert f"admin/disclosures/disclosure/{work['disclosure'].pk}/change/" in approver.html
    assert smtp.to("aziza@shipex.uz") == []  # nothing left to tell her: no mail at all


def test_the_digest_reads_the_same_number_of_queries_however_many_requests(smtp, staff, work,
                                                                           django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        send_morning_digests()
    for _ in range(30):
        assigned(staff["agent"], timedelta(days=1))
        assigned(staff["other_agent"], -timedelta(days=2))
    with django_assert_max_num_queries(len(few.captured_queries)):
        summary = send_morning_digests(now=timezone.now() + timedelta(days=1))
    assert summary.sent == 4
    [_first, second] = smtp.to("aziza@shipex.uz")
    assert second.text.count("DSR #") == 32  # the 30 new, the overdue one and the one due soon


def test_a_mail_server_that_is_down_loses_nothing(smtp, staff, work):
    smtp.server.stop()
    down = send_morning_digests()
    assert (down.sent, down.failed) == (0, 4)
    assert not SentMail.objects.exists()  # no claim is kept for a mail that did not go out
    smtp.server.start()
    assert send_morning_digests().sent == 4
    assert len(smtp.mails) == 4


def test_send_digests_command_says_what_it_did(smtp, staff, work, capsys):
    call_command("send_digests")
    call_command("send_digests")
    out = capsys.readouterr().out
    assert "4 sent" in out
    assert "0 sent, 4 already sent today" in out


def test_a_new_incident_alerts_the_compliance_officers_once_it_commits(smtp, staff,
                                                                       django_capture_on_commit_callbacks):
    NotificationPreferenceFactory(user=staff["second_officer"], new_incidents=False)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        incident = IncidentFactory(title=f"Tablet lost {MARKUP}")
        assert smtp.mails == []  # nothing before the commit
    for callback in callbacks:
        callback()

    [mail] = smtp.mails
    assert mail.recipients == ["nodira@shipex.uz"]
    assert mail.subject == f"ShipEx privacy: new incident № {incident.pk} (Medium — limited effect on subjects)"
    assert f"http://testserver/admin/protection/incident/{incident.pk}/change/" in mail.text
    assert "&lt;b&gt;Evil&lt;/b&gt;" in mail.html and "<b>Evil" not in mail.html
    assert "Chilonzor" not in mail.text  # what happened, and to whom, stays in the admin
    assert send_incident_alert(incident=incident).sent == 0  # already told today
    second = IncidentFactory()
    assert send_incident_alert(incident=second).sent == 1  # another incident is another alert


def test_a_failed_verify_audit_alerts_the_auditors_at_once(smtp, staff):
    with pytest.raises(CommandError, match="tampered"):
        call_command("verify_audit", head="0" * 64)

    [mail] = smtp.mails
    assert mail.recipients == ["malika@shipex.uz"]
    assert mail.subject == "ShipEx privacy: audit verification FAILED, 1 problem"
    assert "audit_seal id=0: the chain head" in mail.text
    assert "http://testserver/admin/audit/trailentry/" in mail.html
    with pytest.raises(CommandError):
        call_command("verify_audit", head="0" * 64)
    assert len(smtp.mails) == 1  # the same finding again: already told today


def test_new_findings_are_a_new_alert_and_a_clean_report_sends_nothing(smtp, staff):
    finding = Finding("subjects_historicaldatasubject", 7, "changed: the row no longer matches its digest")
    assert send_verify_audit_alert(report=VerifyReport(findings=[finding])).sent == 1
    worse = VerifyReport(findings=[finding, Finding("audit_accessevent", 9, "removed")])
    assert send_verify_audit_alert(report=worse).sent == 1
    assert send_verify_audit_alert(report=VerifyReport(findings=[])).sent == 0
    assert len(smtp.mails) == 2


def test_staff_choose_their_mail_on_my_email_and_the_choice_is_in_history(client, smtp, staff):
    auditor = staff["auditor"]
    client.force_login(auditor)
    page = client.get(reverse("admin:notifications_my_email"))
    assert page.status_code == 200
    assert set(page.context["form"].fields) == {"language", "requests_due", "audit_verification_failed"}

    response = client.post(reverse("admin:notifications_my_email"), {"language": "ru", "requests_due": "on"})

    assert response.status_code == 302
    chosen = NotificationPreference.objects.get(user=auditor)
    assert chosen.audit_verification_failed is False
    row = chosen.history.get()
    assert (row.history_user_id, row.history_username) == (auditor.pk, "malika")
    auditor.refresh_from_db()
    assert auditor.language == "ru"
    finding = Finding("audit_seal", 0, "seal changed or forged: its MAC does not match")
    assert send_verify_audit_alert(report=VerifyReport(findings=[finding])).sent == 0
    client.post(reverse("admin:notifications_my_email"), {"language": "ru", "requests_due": "on"})
    assert chosen.history.count() == 1  # saving the same choices again writes no history


def test_my_email_refuses_a_language_that_is_not_offered(client, staff):
    client.force_login(staff["agent"])
    response = client.post(reverse("admin:notifications_my_email"), {"language": "xx"})
    assert response.status_code == 200
    assert response.context["form"].errors["language"]
    staff["agent"].refresh_from_db()
    assert staff["agent"].language == "ru"


def test_every_staff_member_finds_my_email_in_the_header(client, staff):
    client.force_login(staff["agent"])
    page = client.get(reverse("admin:index")).content.decode()
    assert f'href="{reverse("admin:notifications_my_email")}"' in page
