"""The subject screens as support agents and compliance officers use them."""

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.models import PersonalDataField
from shipex_privacy.core import identifiers
from shipex_privacy.subjects.models import Address, DataSubject
from tests.audit.page_forms import page_version
from tests.subjects.factories import AddressFactory, DataSubjectFactory

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:subjects_datasubject_add")


def change_url(subject):
    return reverse("admin:subjects_datasubject_change", args=[subject.pk])


def form_data(subject: DataSubject | None = None, **overrides) -> dict:
    """What the subject form posts: the subject's current values, no address rows, then overrides."""
    values = {
        "account_id": "SX2000001",
        "full_name": "Karimov Aziz Rustam oʻgʻli",
        "phone": "+998 90 123 45 67",
        "email": "",
        "pinfl": "",
        "passport": "",
        "birth_date": "",
        "preferred_language": "uz",
        "change_reason": "",
        "addresses-TOTAL_FORMS": "0",
        "addresses-INITIAL_FORMS": "0",
        "addresses-MIN_NUM_FORMS": "0",
        "addresses-MAX_NUM_FORMS": "1000",
    }
    if subject is not None:
        addresses = list(subject.addresses.all())
        values.update(
            account_id=subject.account_id, full_name=subject.full_name, phone=subject.phone, email=subject.email,
            pinfl=subject.pinfl, passport=subject.passport,
            birth_date=subject.birth_date.isoformat() if subject.birth_date else "",
            preferred_language=subject.preferred_language,
        )
        values["addresses-TOTAL_FORMS"] = values["addresses-INITIAL_FORMS"] = str(len(addresses))
        for index, address in enumerate(addresses):
            for name in ("id", "kind", "region", "city", "street", "landmark", "postal_code"):
                values[f"addresses-{index}-{name}"] = getattr(address, name)
            values[f"addresses-{index}-subject"] = subject.pk
    values.update(overrides)
    return values


@pytest.fixture
def agent_client(client, support_agent):
    client.force_login(support_agent)
    return client


def test_agent_registers_a_subject_with_the_phone_typed_humanly(agent_client, support_agent):
    response = agent_client.post(ADD_URL, form_data(phone="90 123-45-67", email="Aziz@Mail.UZ"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    subject = DataSubject.objects.get(account_id="SX2000001")
    assert (subject.phone, subject.email) == ("+998901234567", "aziz@mail.uz")
    created = subject.history.get()
    assert (created.history_type, created.history_user_id, created.history_username) == (
        "+", support_agent.pk, support_agent.username
    )
    assert created.history_ip == "127.0.0.1"


def refusal(normalise, value: str, language: str) -> str:
    with translation.override(language):
        with pytest.raises(ValidationError) as error:
            normalise(value)
        return error.value.messages[0]


@pytest.mark.parametrize(
    ("field", "value", "normalise"),
    [
        ("phone", "90 123 45", identifiers.normalise_phone),
        ("pinfl", "3150590014001", identifiers.normalise_pinfl),
        ("passport", "A1234567", identifiers.normalise_passport),
    ],
)
@pytest.mark.parametrize("language", ["uz", "ru", "en"])
def test_invalid_identifier_is_refused_in_the_users_language_and_nothing_is_saved(
    agent_client, field, value, normalise, language
):
    agent_client.cookies["django_language"] = language
    response = agent_client.post(ADD_URL, form_data(**{field: value}))
    assert response.status_code == 200
    expected = refusal(normalise, value, language)
    if language != "en":
        assert expected != refusal(normalise, value, "en"), f"the refusal has no {language} translation"
    assert response.context["adminform"].form.errors[field] == [expected]
    assert not DataSubject.objects.exists()
    assert not DataSubject.history.exists()


def test_pinfl_with_a_wrong_check_digit_needs_a_stated_override(agent_client):
    response = agent_client.post(ADD_URL, form_data(pinfl="31505900140017"))
    assert "pinfl" in response.context["adminform"].form.errors
    assert not DataSubject.objects.exists()

    response = agent_client.post(ADD_URL, form_data(pinfl="31505900140017", keep_pinfl="on"))
    assert "change_reason" in response.context["adminform"].form.errors

    reason = "Passport office record shows this PINFL; checked with the subject by phone"
    response = agent_client.post(ADD_URL, form_data(pinfl="31505900140017", keep_pinfl="on", change_reason=reason))
    assert response.status_code == 302
    subject = DataSubject.objects.get()
    assert subject.pinfl == "31505900140017"
    assert subject.history.get().history_change_reason == reason


def test_fields_the_catalogue_marks_mandatory_are_required(agent_client, compliance_officer):
    response = agent_client.post(ADD_URL, form_data(phone=""))
    assert "phone" in response.context["adminform"].form.errors

    # The compliance team decides the phone is optional after all: the form follows the catalogue.
    entry = PersonalDataField.objects.get(code="contact.phone")
    entry.requirement = PersonalDataField.Requirement.OPTIONAL
    record_save(instance=entry, actor=compliance_officer, reason="Test: phone optional")
    response = agent_client.post(ADD_URL, form_data(phone=""))
    assert response.status_code == 302


def test_form_shows_mandatory_and_optional_fields_with_their_clause(agent_client):
    agent_client.cookies["django_language"] = "en"
    form = agent_client.get(ADD_URL).context["adminform"].form
    assert form.fields["phone"].required and form.fields["full_name"].required
    assert not form.fields["email"].required and not form.fields["pinfl"].required
    assert "Mandatory (1.2.1.1)" in form.fields["phone"].help_text
    assert "1.3.2.1" in form.fields["phone"].help_text
    assert "Optional" in form.fields["email"].help_text


def test_subject_page_groups_data_by_catalogue_category(agent_client):
    subject = DataSubjectFactory()
    AddressFactory(subject=subject)
    agent_client.cookies["django_language"] = "en"
    response = agent_client.get(change_url(subject))
    titles = [fieldset.name for fieldset in response.context["adminform"]]
    assert titles[:4] == ["Identity", "Contact details", "Identity documents", "Account"]
    assert "Addresses" in response.content.decode() or "addresses" in response.content.decode()
    assert [panel["title"] for panel in response.context["subject_panels"]] == [
        "Data-subject requests", "Privacy policy and consents", "Services used", "Who received this subject's data",
        "Legal holds", "Change history",
    ]


def test_changing_a_subject_needs_a_reason_that_history_keeps(agent_client, support_agent):
    subject = DataSubjectFactory()
    response = agent_client.post(change_url(subject), form_data(subject, full_name="Karimova Dilnoza Aziz qizi"))
    assert "change_reason" in response.context["adminform"].form.errors
    subject.refresh_from_db()
    assert subject.full_name != "Karimova Dilnoza Aziz qizi"

    reason = "DSR #42: subject asked to correct the name"
    response = agent_client.post(
        change_url(subject), form_data(subject, full_name="Karimova Dilnoza Aziz qizi", change_reason=reason,
                                       **page_version(agent_client, subject))
    )
    assert response.status_code == 302
    latest = subject.history.latest()
    assert (latest.full_name, latest.history_change_reason, latest.history_username) == (
        "Karimova Dilnoza Aziz qizi", reason, support_agent.username
    )


def test_saving_without_changes_writes_no_history(agent_client):
    subject = DataSubjectFactory()
    response = agent_client.post(change_url(subject), form_data(subject, change_reason="Looked at it",
                                                                **page_version(agent_client, subject)))
    assert response.status_code == 302
    assert subject.history.count() == 1


def test_address_changes_carry_the_same_reason(agent_client):
    subject = DataSubjectFactory()
    address = AddressFactory(subject=subject, street="Nukus koʻchasi, 5-uy")
    reason = "DSR #43: subject moved"
    data = form_data(subject, change_reason=reason, **page_version(agent_client, subject))
    data["addresses-0-street"] = "Labzak koʻchasi, 12-uy, 4-xonadon"
    assert agent_client.post(change_url(subject), data).status_code == 302
    latest = Address.history.filter(id=address.pk).latest()
    assert (latest.street, latest.history_change_reason) == ("Labzak koʻchasi, 12-uy, 4-xonadon", reason)


def test_history_panel_shows_recent_changes_with_who_and_why(agent_client, support_agent):
    subject = DataSubjectFactory()
    subject.full_name = "Yusupova Malika Otabek qizi"
    record_save(instance=subject, actor=support_agent, reason="DSR #44: name changed after marriage")
    agent_client.cookies["django_language"] = "en"
    panels = agent_client.get(change_url(subject)).context["subject_panels"]
    panel = next(panel for panel in panels if "entries" in panel)  # the history panel, among the others
    newest = panel["entries"][0]
    assert newest["record"].history_username == support_agent.username
    assert newest["record"].history_change_reason == "DSR #44: name changed after marriage"
    assert newest["fields"] == ["full name"]


def test_nobody_can_delete_a_subject(admin_client):
    subject = DataSubjectFactory()
    response = admin_client.post(reverse("admin:subjects_datasubject_delete", args=[subject.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert DataSubject.objects.filter(pk=subject.pk).exists()


def test_list_masks_identifiers(agent_client):
    subject = DataSubjectFactory(phone="+998901234567", pinfl="31505900140019")
    content = agent_client.get(reverse("admin:subjects_datasubject_changelist")).content.decode()
    assert "+998 90 *** ** 67" in content
    assert "+998901234567" not in content and "+998 90 123 45 67" not in content
    assert subject.pinfl not in content


def test_list_query_count_does_not_grow_with_rows(agent_client):
    url = reverse("admin:subjects_datasubject_changelist")
    DataSubjectFactory.create_batch(3)
    with CaptureQueriesContext(connection) as few:
        agent_client.get(url)
    DataSubjectFactory.create_batch(30)
    with CaptureQueriesContext(connection) as many:
        agent_client.get(url)
    assert len(many) == len(few)


def test_history_page_paginates(agent_client, support_agent):
    subject = DataSubjectFactory()
    for number in range(55):
        subject.full_name = f"Saidov Bobur {number}"
        record_save(instance=subject, actor=support_agent, reason=f"Test edit {number}")
    response = agent_client.get(reverse("admin:subjects_datasubject_history", args=[subject.pk]))
    assert response.status_code == 200
    assert len(response.context["page_obj"].object_list) == 50
    assert response.context["page_obj"].paginator.num_pages == 2


def test_history_page_needs_the_history_permission(client, support_agent):
    subject = DataSubjectFactory()
    support_agent.groups.clear()
    support_agent.user_permissions.add(Permission.objects.get(codename="view_datasubject"))
    client.force_login(support_agent)
    response = client.get(reverse("admin:subjects_datasubject_history", args=[subject.pk]))
    assert response.status_code == 403
