"""Responses to the subject drafted from templates in uz/ru/en, and the compliance team's checks on them."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from shipex_privacy.audit.services import record_save
from shipex_privacy.protection.letters import responsible_person_text
from shipex_privacy.rights_requests.models import ResponseTemplate, SubjectRequest
from shipex_privacy.rights_requests.responses import response_from_template
from shipex_privacy.rights_requests.services import (
    request_correct_subject,
    request_match_subject,
    request_receive,
    request_verify_identity,
    request_withdraw_consents,
)
from tests.audit.page_forms import page_version
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db


def test_every_kind_has_a_done_a_refused_and_an_extension_template_in_each_language():
    seeded = set(ResponseTemplate.objects.values_list("kind", "outcome", "language"))
    assert seeded == {(kind, outcome, language) for kind in SubjectRequest.Kind.values
                      for outcome in ("done", "refused", "extended") for language in ("uz", "ru", "en")}
    for template in ResponseTemplate.objects.all():
        template.full_clean()  # only known placeholders


def test_the_seeded_letters_spell_uzbek_right_and_name_the_authority():
    withdrawal = ResponseTemplate.objects.get(kind="consent_withdrawal", outcome="done", language="uz")
    assert "Roziligingiz qaytarib olindi" in withdrawal.body and "Rozilikingiz" not in withdrawal.body
    authority = {"uz": "Adliya vazirligi huzuridagi Personallashtirish agentligiga",
                 "ru": "Агентство персонализации при Министерстве юстиции",
                 "en": "the Personalization Agency under the Ministry of Justice"}
    for template in ResponseTemplate.objects.filter(outcome="refused"):
        assert authority[template.language] in template.body, template
        assert "vakolatli davlat organ" not in template.body and "уполномоченный" not in template.body
    assert withdrawal.history.latest().history_type == "~"  # the fix is in its history, not behind it


def test_every_letter_names_who_answers_for_the_subjects_data(support_agent):
    from tests.protection.factories import ResponsiblePersonFactory

    subject = DataSubjectFactory(preferred_language="uz")
    request = request_receive(kind="information", channel="app", subject=subject, actor=support_agent,
                              requester_name=subject.full_name, requester_contact=subject.phone)
    assert "dpo@shipex.uz" not in response_from_template(request, "refused")  # nobody appointed: no paragraph
    ResponsiblePersonFactory(email="dpo@shipex.uz")
    letter = response_from_template(request, "refused")
    assert letter.rstrip().endswith(responsible_person_text(language="uz")) and "dpo@shipex.uz" in letter


@pytest.mark.parametrize(("language", "greeting", "kind_label"), [
    ("uz", "Hurmatli Dilnoza Karimova!", "Maʼlumotlarni oʻzgartirish (1.5.1)"),
    ("ru", "Уважаемый(ая) Dilnoza Karimova!", "Изменение данных (1.5.1)"),
    ("en", "Dear Dilnoza Karimova,", "Correction (1.5.1)"),
])
def test_the_draft_is_in_the_subjects_language_and_filled_from_the_request(support_agent, language, greeting,
                                                                           kind_label):
    subject = DataSubjectFactory(full_name="Dilnoza Karimova", preferred_language=language)
    request = request_receive(kind="correction", channel="app", actor=support_agent, subject=subject)
    request_verify_identity(request=request, method="app_login", actor=support_agent)
    request_correct_subject(request=request, changes={"email": "dilnoza.karimova@mail.uz"}, actor=support_agent)
    request.refresh_from_db()

    draft = response_from_template(request, "done")

    assert draft.startswith(greeting)
    assert f"{request.pk} " in draft and f"({kind_label})" in draft
    assert "{" not in draft


def test_an_unknown_placeholder_is_refused_with_the_allowed_list():
    template = ResponseTemplate(kind="access", outcome="done", language="en", body="Dear {name}, {request_id}")
    with pytest.raises(ValidationError) as error:
        template.full_clean(validate_constraints=False)
    assert "Unknown placeholders: {name}" in str(error.value) and "{subject_name}" in str(error.value)


@pytest.mark.parametrize("body", ["Hello {subject_name.__class__}", "Hello {", "Hello {0}"])
def test_attribute_access_and_broken_braces_are_refused(body):
    with pytest.raises(ValidationError):
        ResponseTemplate(kind="access", outcome="done", language="en", body=body).full_clean(
            validate_constraints=False)


def test_the_move_page_offers_the_draft_and_closing_sends_it(client, support_agent):
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    subject = DataSubjectFactory(full_name="Otabek Yusupov", preferred_language="ru")
    request = request_receive(kind="advertising_objection", channel="email", actor=support_agent, subject=subject)
    request_verify_identity(request=request, method="registered_email", actor=support_agent)
    request_withdraw_consents(request=request, consents=[], actor=support_agent)  # none was in force
    move = reverse("admin:rights_requests_subjectrequest_move", args=[request.pk])

    form = client.get(move, {"template": "done"}).context["form"]

    assert form.initial["status"] == "done"
    assert "Мы больше не будем направлять вам рекламные сообщения." in form.initial["response_text"]
    assert client.get(move).context["form"].initial == {}  # no template asked for: nothing drafted


def test_a_missing_template_is_said_and_the_agent_writes_the_response(client, support_agent, compliance_officer):
    from shipex_privacy.audit.services import record_delete

    record_delete(instance=ResponseTemplate.objects.get(kind="complaint", outcome="refused", language="uz"),
                  actor=compliance_officer, reason="test")
    request = request_receive(kind="complaint", channel="letter", actor=support_agent,
                              subject=DataSubjectFactory(preferred_language="uz"))
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    response = client.get(reverse("admin:rights_requests_subjectrequest_move", args=[request.pk]),
                          {"template": "refused"})
    assert "There is no response template" in response.content.decode()


def test_the_compliance_team_edits_a_template_with_a_reason(client, compliance_officer):
    client.force_login(compliance_officer)
    client.cookies["django_language"] = "en"
    template = ResponseTemplate.objects.get(kind="access", outcome="done", language="en")
    url = reverse("admin:rights_requests_responsetemplate_change", args=[template.pk])
    refused = client.post(url, {"kind": "access", "outcome": "done", "language": "en", "body": "Hi {nme}",
                                "change_reason": "typo"})
    assert "Unknown placeholders: {nme}" in refused.content.decode()
    saved = client.post(url, {"kind": "access", "outcome": "done", "language": "en",
                              "body": "Dear {subject_name}, here is your data.", "change_reason": "Shorter wording",
                              **page_version(client, template)})
    assert saved.status_code == 302
    template.refresh_from_db()
    assert template.body == "Dear {subject_name}, here is your data."
    assert template.history.latest().history_change_reason == "Shorter wording"


def test_after_an_erasure_the_answer_keeps_the_language_and_name_the_subject_asked_in(support_agent):
    from shipex_privacy.rights_requests.erasure import erasure_task_done, request_erase

    subject = DataSubjectFactory(full_name="Ольга Ким", preferred_language="ru")
    request = request_receive(kind="erasure", channel="email", actor=support_agent, requester_name="Ольга Ким")
    request = request_match_subject(request=request, term=subject.account_id, actor=support_agent)
    request = request_verify_identity(request=request, method="registered_email", actor=support_agent)
    request_erase(request=request, actor=support_agent)
    subject.refresh_from_db()
    assert (subject.full_name, subject.preferred_language) == ("", "uz")  # the erasure reset both
    for task in request.open_tasks():
        erasure_task_done(item=task, actor=support_agent)

    draft = response_from_template(request, "done")

    assert draft.startswith("Уважаемый(ая) Ольга Ким!")
    assert "С вашими данными сделано следующее:" in draft


def test_a_draft_that_would_leave_a_placeholder_empty_is_refused(support_agent, compliance_officer):
    template = ResponseTemplate.objects.get(kind="complaint", outcome="done", language="en")
    template.body = "Your complaint is answered; the package we sent had the checksum {package_sha256}."
    record_save(instance=template, actor=compliance_officer, reason="test: a placeholder this kind has no value for")
    request = request_receive(kind="complaint", channel="app", actor=support_agent,
                              subject=DataSubjectFactory(preferred_language="en"))
    with pytest.raises(ValidationError, match=r"needs \{package_sha256\}"):
        response_from_template(request, "done")  # no package built: no checksum to quote


@pytest.mark.parametrize("body", ["Closed on {closed_on:d}", "Request {request_id!r}", "{request_id:>999999999}"])
def test_formatting_inside_a_placeholder_is_refused(body):
    with pytest.raises(ValidationError, match="bare"):
        ResponseTemplate(kind="access", outcome="done", language="en", body=body).full_clean(
            validate_constraints=False)
