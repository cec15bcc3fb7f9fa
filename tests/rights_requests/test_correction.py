"""Correction (1.5.1): the agent edits the subject from the request; the history names the request."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from shipex_privacy.rights_requests.services import (
    request_correct_subject,
    request_receive,
    request_verify_identity,
)
from shipex_privacy.subjects.models import DataSubject
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db


def correction_request(agent, subject, *, kind="correction", verified=True):
    request = request_receive(kind=kind, channel="app", actor=agent, subject=subject)
    return request_verify_identity(request=request, method="app_login", actor=agent) if verified else request


def test_the_correction_is_saved_and_its_history_names_the_request(support_agent):
    subject = DataSubjectFactory(full_name="Sardor Rahimov")
    request = correction_request(support_agent, subject)

    request_correct_subject(request=request, changes={"full_name": "Sardor Rahimov Alisher oʻgʻli"},
                            actor=support_agent)

    subject.refresh_from_db()
    row = subject.history.latest()
    assert subject.full_name == "Sardor Rahimov Alisher oʻgʻli"
    assert row.history_change_reason == f"Request #{request.pk}: correction (1.5.1) of full name"
    assert row.history_username == support_agent.username


@pytest.mark.parametrize(("kind", "verified", "changes", "message"), [
    ("access", True, {"full_name": "X"}, "is not a correction request"),
    ("correction", False, {"full_name": "X"}, "verify the requester's identity first"),
    ("correction", True, {"account_id": "SX1"}, "cannot be corrected here: account_id"),
    ("correction", True, {}, "Nothing was changed"),
])
def test_refusals_change_nothing(support_agent, kind, verified, changes, message):
    subject = DataSubjectFactory()
    request = correction_request(support_agent, subject, kind=kind, verified=verified)
    rows = subject.history.count()
    with pytest.raises(ValidationError, match=message):
        request_correct_subject(request=request, changes=changes, actor=support_agent)
    assert subject.history.count() == rows


def test_the_agent_corrects_the_phone_from_the_request_page(client, support_agent):
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    subject = DataSubjectFactory(phone="+998901234567", preferred_language="uz")
    request = correction_request(support_agent, subject)
    url = reverse("admin:rights_requests_subjectrequest_correct", args=[request.pk])
    form = client.get(url).context["form"]
    data = {name: form.initial[name] for name in form.fields}
    data["birth_date"] = subject.birth_date.isoformat()

    bad = client.post(url, {**data, "phone": "12345"})
    assert bad.status_code == 200 and bad.context["form"].errors["phone"]
    assert DataSubject.objects.get(pk=subject.pk).phone == "+998901234567"

    client.post(url, {**data, "phone": "90 765 43 21"})
    subject.refresh_from_db()
    assert subject.phone == "+998907654321"
    assert subject.history.latest().history_change_reason == f"Request #{request.pk}: correction (1.5.1) of phone"


def test_a_mandatory_field_cannot_be_emptied_by_a_correction(client, support_agent):
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    subject = DataSubjectFactory()
    request = correction_request(support_agent, subject)
    url = reverse("admin:rights_requests_subjectrequest_correct", args=[request.pk])
    form = client.get(url).context["form"]
    data = {name: form.initial[name] for name in form.fields} | {"birth_date": subject.birth_date.isoformat()}
    response = client.post(url, {**data, "phone": ""})
    assert "mandatory in the data catalogue" in str(response.context["form"].errors["phone"])
