"""The notification letter (ZRU-547 art. 23): plain text, escaped on the page, only for a sent disclosure."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from shipex_privacy.audit.models import AccessEvent
from shipex_privacy.disclosures.models import DisclosedSubject
from tests.disclosures.test_workflow import business_transfer, second_officer, sent  # noqa: F401 (fixture)
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db

LINK = '<a href="https://shipex-verify.example/login">Verify here</a><img src=x onerror=alert(1)>'


def notify_url(row) -> str:
    return reverse("admin:disclosures_disclosedsubject_notify", args=[row.pk])


def test_markup_in_the_subjects_name_and_the_recipients_name_is_shown_as_text(
        client, compliance_officer, second_officer, support_agent):  # noqa: F811
    subject = DataSubjectFactory(full_name=f"Karimov Aziz {LINK}", preferred_language="en")
    disclosure = sent(compliance_officer, second_officer, [subject], notify=True)
    disclosure.recipient.legal_name = f"“Tez” MChJ {LINK}"  # the recipient's row is not frozen with the disclosure
    disclosure.recipient.save()
    client.force_login(support_agent)
    content = client.get(notify_url(disclosure.disclosed_subjects.get())).content.decode()
    assert "<a href=\"https://shipex-verify" not in content and "<img src=x" not in content
    assert "&lt;a href=&quot;https://shipex-verify.example/login&quot;&gt;Verify here&lt;/a&gt;" in content
    assert content.count("&lt;img src=x onerror=alert(1)&gt;") >= 2  # the name and the recipient, both as text


def test_the_letter_itself_keeps_the_text_as_typed(client, compliance_officer, second_officer,  # noqa: F811
                                                    support_agent):
    subject = DataSubjectFactory(full_name="Oʻgʻilov & Co <Aziz>", preferred_language="en")
    disclosure = sent(compliance_officer, second_officer, [subject], notify=True)
    client.force_login(support_agent)
    text = client.get(notify_url(disclosure.disclosed_subjects.get())).context["text"]
    assert "Dear Oʻgʻilov & Co <Aziz>," in text  # a text letter, not HTML: no &amp; for the subject to read


def test_the_letter_of_a_disclosure_not_yet_sent_is_refused(client, compliance_officer, support_agent):
    acquirer_draft = business_transfer(compliance_officer, [DataSubjectFactory()])
    row = acquirer_draft.disclosed_subjects.get()
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"  # the message is read as English; Uzbek is the default
    for response in (client.get(notify_url(row)), client.post(notify_url(row), {"channel": "sms",
                                                                               "at": "2026-11-30 10:00"})):
        assert response.status_code == 302
        assert response["Location"] == reverse("admin:disclosures_disclosure_change", args=[acquirer_draft.pk])
        assert [str(m) for m in get_messages(response.wsgi_request)][-1] == (
            f"Disclosure № {acquirer_draft.pk} has not been sent; there is no notification to write yet.")
    row = DisclosedSubject.objects.get(pk=row.pk)
    assert (row.notified_at, row.notification_channel) == (None, "")
    assert not AccessEvent.objects.filter(detail="disclosure notification letter").exists()

