"""Identifiers on the subject page: in full for those who edit them, masked for those who only read,
revealed one at a time with a stated reason that the access log keeps (clause 1.7.1)."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from shipex_privacy.audit.models import AccessEvent
from shipex_privacy.core.identifiers import format_phone
from shipex_privacy.subjects.models import DataSubject
from tests.accounts.factories import StaffFactory
from tests.subjects.factories import AddressFactory, DataSubjectFactory

pytestmark = pytest.mark.django_db

REVEAL = "reveal_identifiers"


@pytest.fixture
def subject():
    subject = DataSubjectFactory(
        phone="+998901234567", email="aziz.karimov@mail.uz", pinfl="31505900140019", passport="AB1234567"
    )
    AddressFactory(subject=subject, street="Labzak koʻchasi, 12-uy, 4-xonadon", landmark="Chorsu bozori yonida")
    return subject


def full_values(subject) -> list[str]:
    address = subject.addresses.get()
    return [
        subject.phone, format_phone(subject.phone), subject.email, subject.pinfl, subject.passport,
        address.street, address.landmark,
    ]


def may_reveal(user):
    user.user_permissions.add(Permission.objects.get(codename=REVEAL))
    return user


def change_url(subject):
    return reverse("admin:subjects_datasubject_change", args=[subject.pk])


def reveal_url(subject):
    return reverse("admin:subjects_datasubject_reveal", args=[subject.pk])


def reveals():
    return AccessEvent.objects.filter(action=AccessEvent.Action.IDENTIFIER_REVEAL)


@pytest.mark.parametrize("role_user", ["Compliance officer", "Auditor"], indirect=True)
def test_read_only_roles_see_identifiers_and_addresses_masked(client, role_user, subject):
    client.force_login(role_user)
    response = client.get(change_url(subject))
    content = response.content.decode()
    for value in full_values(subject):
        assert value not in content, value
    for masked in ("+998 90 *** ** 67", "a***@mail.uz", "3***********19", "AB*****67", "L***", "C***"):
        assert masked in content, masked
    assert subject.full_name in content  # the name is not an identifier the policy masks
    assert 'class="reveal-link"' in content  # both roles may reveal one, stating a reason


def test_a_role_that_may_reveal_gets_a_link_per_masked_value(client, auditor, subject):
    client.force_login(may_reveal(auditor))
    content = client.get(change_url(subject)).content.decode()
    address = subject.addresses.get()
    for field in ("phone", "email", "pinfl", "passport", f"address-{address.pk}"):
        assert f'href="{reveal_url(subject)}?field={field}"' in content, field
    for value in full_values(subject):
        assert value not in content, value


def test_support_agents_see_in_full_what_they_edit(client, support_agent, subject):
    client.force_login(support_agent)
    form = client.get(change_url(subject)).context["adminform"].form
    assert form["pinfl"].value() == subject.pinfl
    assert form["passport"].value() == subject.passport
    assert form["email"].value() == subject.email
    content = client.get(change_url(subject)).content.decode()
    assert subject.addresses.get().street in content


def test_revealing_asks_for_a_reason_first_and_shows_nothing_before(client, compliance_officer, subject):
    client.force_login(may_reveal(compliance_officer))
    response = client.get(reveal_url(subject), {"field": "pinfl"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "3***********19" in content and subject.pinfl not in content
    assert 'name="reason"' in content
    assert not reveals().exists()


def test_a_reveal_without_a_reason_is_refused_clearly_and_logs_nothing(client, compliance_officer, subject):
    client.force_login(may_reveal(compliance_officer))
    client.cookies["django_language"] = "en"
    for reason in ("", "   "):
        response = client.post(reveal_url(subject), {"field": "pinfl", "reason": reason})
        assert response.status_code == 200
        content = response.content.decode()
        assert "Say why you need to see this value" in content
        assert "Nothing was revealed." in content
        assert subject.pinfl not in content
    assert not AccessEvent.objects.filter(action=AccessEvent.Action.IDENTIFIER_REVEAL).exists()


def test_a_reveal_shows_the_value_on_that_page_only_and_logs_the_reason(client, compliance_officer, subject):
    client.force_login(may_reveal(compliance_officer))
    reason = "DSR #42: comparing the PINFL with the passport copy"
    response = client.post(reveal_url(subject), {"field": "pinfl", "reason": reason}, REMOTE_ADDR="10.0.0.5")
    assert response.status_code == 200
    assert subject.pinfl in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    event = reveals().get()
    assert (event.username, event.object_type, event.object_id, event.subject_id) == (
        compliance_officer.username, "subjects.datasubject", str(subject.pk), subject.pk
    )
    assert (event.field, event.reason, event.ip) == ("pinfl", reason, "10.0.0.5")
    # Nothing of the reveal survives the page: the subject page is masked again, the session holds nothing.
    assert subject.pinfl not in client.get(change_url(subject)).content.decode()
    assert not any(subject.pinfl in str(value) for value in client.session.values())


def test_revealing_an_address_logs_the_address_and_its_subject(client, auditor, subject):
    address = subject.addresses.get()
    client.force_login(may_reveal(auditor))
    response = client.post(reveal_url(subject), {"field": f"address-{address.pk}", "reason": "Courier complaint #7"})
    content = response.content.decode()
    assert address.street in content and address.landmark in content
    event = reveals().get()
    assert (event.object_type, event.object_id, event.subject_id, event.field) == (
        "subjects.address", str(address.pk), subject.pk, "street, landmark"
    )


def test_the_phone_is_revealed_readably(client, auditor, subject):
    client.force_login(may_reveal(auditor))
    response = client.post(reveal_url(subject), {"field": "phone", "reason": "Calling back about DSR #9"})
    assert "+998 90 123 45 67" in response.content.decode()


def test_staff_without_the_permission_cannot_reveal(client, subject):
    viewer = StaffFactory(username="viewer")
    viewer.user_permissions.add(Permission.objects.get(codename="view_datasubject"))
    client.force_login(viewer)
    assert 'class="reveal-link"' not in client.get(change_url(subject)).content.decode()
    assert client.get(reveal_url(subject), {"field": "pinfl"}).status_code == 403
    response = client.post(reveal_url(subject), {"field": "pinfl", "reason": "Just curious"})
    assert response.status_code == 403
    assert subject.pinfl not in response.content.decode()
    assert not reveals().exists()


@pytest.mark.parametrize("field", ["full_name", "history_ip", "address-abc", "address-", "", "pinfl<script>",
                                   "address-²", "address-١", "address-１", "address-" + "9" * 30, "address--1"])
def test_an_unknown_field_is_not_found(client, auditor, subject, field):
    client.force_login(may_reveal(auditor))
    response = client.post(reveal_url(subject), {"field": field, "reason": "Testing"})
    assert response.status_code == 404
    assert not reveals().exists()


def test_a_forged_address_id_of_another_subject_is_not_found(client, auditor, subject):
    stranger = AddressFactory()
    client.force_login(may_reveal(auditor))
    response = client.post(reveal_url(subject), {"field": f"address-{stranger.pk}", "reason": "Testing"})
    assert response.status_code == 404
    assert stranger.street not in response.content.decode()
    assert not reveals().exists()


def test_a_forged_subject_id_is_not_found(client, auditor):
    client.force_login(may_reveal(auditor))
    response = client.post(reverse("admin:subjects_datasubject_reveal", args=[424242]),
                           {"field": "pinfl", "reason": "Testing"})
    assert response.status_code == 404
    assert not reveals().exists()


def test_a_reveal_needs_csrf(auditor, subject):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(may_reveal(auditor))
    response = client.post(reveal_url(subject), {"field": "pinfl", "reason": "No token"})
    assert response.status_code == 403
    assert not reveals().exists()


def test_history_page_masks_identifiers_for_read_only_roles(client, compliance_officer, support_agent, subject):
    from shipex_privacy.audit.services import record_save

    old = subject.pinfl
    subject.pinfl = "31505900140027"
    record_save(instance=subject, actor=support_agent, reason="DSR #5: PINFL corrected from the passport")
    url = reverse("admin:subjects_datasubject_history", args=[subject.pk])

    client.force_login(compliance_officer)
    content = client.get(url).content.decode()
    assert old not in content and "31505900140027" not in content
    assert "3***********19" in content and "3***********27" in content

    client.force_login(support_agent)
    content = client.get(url).content.decode()
    assert old in content and "31505900140027" in content


def test_a_subject_without_identifiers_shows_the_empty_marker(client, auditor):
    subject = DataSubjectFactory(email="", pinfl="", passport="")
    client.force_login(may_reveal(auditor))
    content = client.get(change_url(subject)).content.decode()
    assert f"{reveal_url(subject)}?field=pinfl" not in content
    assert DataSubject.objects.get(pk=subject.pk).pinfl == ""


def test_a_refused_reveal_leaves_a_trace_but_no_value(client, auditor, subject):
    client.force_login(auditor)
    response = client.post(reveal_url(subject), {"field": "pinfl", "reason": "  "})
    assert subject.pinfl not in response.content.decode()
    refused = AccessEvent.objects.get(action=AccessEvent.Action.REVEAL_REFUSED)
    assert (refused.username, refused.subject_id, refused.field) == (auditor.username, subject.pk, "pinfl")
    assert not reveals().exists()
