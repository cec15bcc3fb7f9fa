"""Correction (1.5.1): the agent edits the subject from the request; the history names the request."""

import datetime

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
    ("access", True, {"full_name": "X"}, "this step is for: Correction"),
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


def page_data(forms, subject) -> dict:
    """What the correction page posts when the agent changes nothing: every field as shown."""
    data = {name: forms.subject.initial[name] for name in forms.subject.fields}
    data["birth_date"] = subject.birth_date.isoformat()
    management = forms.addresses.management_form
    data.update({management.add_prefix(name): value for name, value in management.initial.items()})
    for form in forms.addresses.forms:
        data.update({form.add_prefix(name): form.initial.get(name) if name != "id" else form.instance.pk
                     for name in form.fields})
    # The values as shown travel with the page (hidden "initial-" inputs).
    data.update({f"initial-{name}": value for name, value in data.items()
                 if not name.endswith(("-id", "_FORMS")) and not name.startswith("initial-")})
    return data


def test_the_agent_corrects_the_phone_from_the_request_page(client, support_agent):
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    subject = DataSubjectFactory(phone="+998901234567", preferred_language="uz")
    request = correction_request(support_agent, subject)
    url = reverse("admin:rights_requests_subjectrequest_correct", args=[request.pk])
    data = page_data(client.get(url).context["form"], subject)

    bad = client.post(url, {**data, "phone": "12345"})
    assert bad.status_code == 200 and bad.context["form"].subject.errors["phone"]
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
    data = page_data(client.get(url).context["form"], subject)
    response = client.post(url, {**data, "phone": ""})
    assert "mandatory in the data catalogue" in str(response.context["form"].subject.errors["phone"])


def test_the_agent_corrects_an_address_and_a_bad_one_saves_nothing(client, support_agent):
    from tests.subjects.factories import AddressFactory

    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    subject = DataSubjectFactory(full_name="Nodir Qodirov")
    home, work = AddressFactory(subject=subject), AddressFactory(subject=subject, kind="work")
    request = correction_request(support_agent, subject)
    url = reverse("admin:rights_requests_subjectrequest_correct", args=[request.pk])
    data = page_data(client.get(url).context["form"], subject)
    index = {data[f"addresses-{i}-id"]: i for i in range(2)}

    refused = client.post(url, {**data, "full_name": "Nodir Qodirov Anvarovich",
                                f"addresses-{index[home.pk]}-street": ""})
    assert refused.context["form"].addresses.errors[index[home.pk]]["street"]
    assert DataSubject.objects.get(pk=subject.pk).full_name == "Nodir Qodirov"  # nothing saved

    client.post(url, {**data, f"addresses-{index[work.pk]}-street": "Amir Temur koʻchasi, 108"})

    work.refresh_from_db()
    assert work.street == "Amir Temur koʻchasi, 108"
    assert work.history.latest().history_change_reason == (
        f"Request #{request.pk}: correction (1.5.1) of street, house, apartment")
    assert subject.history.count() == 1 and home.history.count() == 1  # untouched: no new rows


def test_an_address_of_another_subject_is_refused(support_agent):
    from tests.subjects.factories import AddressFactory

    subject, stranger = DataSubjectFactory(), AddressFactory()
    request = correction_request(support_agent, subject)
    with pytest.raises(ValidationError, match="does not belong to this subject"):
        request_correct_subject(request=request, changes={}, actor=support_agent,
                                address_changes={stranger.pk: {"street": "X"}})


@pytest.mark.parametrize(("kind", "verified"), [("access", True), ("correction", False)])
def test_the_correction_page_shows_nothing_unless_the_request_allows_it(client, support_agent, kind, verified):
    from shipex_privacy.audit.models import AccessEvent

    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    subject = DataSubjectFactory(passport="AB7654321")
    request = correction_request(support_agent, subject, kind=kind, verified=verified)
    response = client.get(reverse("admin:rights_requests_subjectrequest_correct", args=[request.pk]), follow=True)
    assert "AB7654321" not in response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("admin:rights_requests_subjectrequest_change", args=[request.pk])
    # The request page it lands on is a read of the request; the subject's own data was not shown.
    assert not AccessEvent.objects.filter(action=AccessEvent.Action.SUBJECT_VIEW,
                                          object_type="subjects.datasubject").exists()
    assert AccessEvent.objects.filter(object_type="rights_requests.subjectrequest").count() == 1


def test_opening_the_correction_page_is_a_logged_read_of_the_subject(client, support_agent):
    from shipex_privacy.audit.models import AccessEvent

    client.force_login(support_agent)
    subject = DataSubjectFactory()
    request = correction_request(support_agent, subject)
    client.get(reverse("admin:rights_requests_subjectrequest_correct", args=[request.pk]))
    event = AccessEvent.objects.get(action=AccessEvent.Action.SUBJECT_VIEW)
    assert (event.subject_id, event.username, event.detail) == (subject.pk, support_agent.username,
                                                                 f"DSR #{request.pk}: correction")


def test_a_correction_never_reverts_what_a_colleague_saved_meanwhile(client, support_agent):
    from shipex_privacy.audit.services import record_save

    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    subject = DataSubjectFactory(full_name="Kamola Ismoilova", phone="+998901112233")
    request = correction_request(support_agent, subject)
    url = reverse("admin:rights_requests_subjectrequest_correct", args=[request.pk])
    data = page_data(client.get(url).context["form"], subject)
    assert 'name="initial-phone"' in client.get(url).content.decode()

    colleague = DataSubject.objects.get(pk=subject.pk)  # saved while the agent's page is open
    colleague.phone = "+998935556677"
    record_save(instance=colleague, actor=support_agent, reason="Caller gave a new number")

    client.post(url, {**data, "full_name": "Kamola Ismoilova Rustamovna"})

    subject.refresh_from_db()
    assert (subject.full_name, subject.phone) == ("Kamola Ismoilova Rustamovna", "+998935556677")


def test_the_birth_date_is_shown_and_typed_as_dd_mm_yyyy(client, support_agent):
    client.force_login(support_agent)
    subject = DataSubjectFactory(birth_date=datetime.date(1990, 3, 7))
    request = correction_request(support_agent, subject)
    url = reverse("admin:rights_requests_subjectrequest_correct", args=[request.pk])
    page = client.get(url)
    assert 'name="birth_date" value="07.03.1990"' in page.content.decode()
    data = page_data(page.context["form"], subject)
    client.post(url, {**data, "birth_date": "17.03.1990", "initial-birth_date": "07.03.1990"})
    subject.refresh_from_db()
    assert subject.birth_date == datetime.date(1990, 3, 17)
