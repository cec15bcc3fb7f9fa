"""An erased or anonymised subject stays erased: its records change only through erasure or correction.

Reproduced on the old main: an agent opens a subject's page, the retention run anonymises the
subject, the agent saves the old page with a reason, and name, phone, e-mail and account id are back.
"""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from shipex_privacy.audit.services import record_delete, record_save
from shipex_privacy.retention.services import retention_apply
from shipex_privacy.subjects.models import Address, DataSubject
from tests.audit.page_forms import change_form_values
from tests.retention.factories import ClosedSubjectFactory, ServiceUseFactory
from tests.subjects.factories import AddressFactory, DataSubjectFactory

pytestmark = pytest.mark.django_db

ERASED = "erased or anonymised"


@pytest.fixture
def agent_client(client, support_agent):
    client.force_login(support_agent)
    client.cookies["django_language"] = "en"
    return client


def change_url(subject):
    return reverse("admin:subjects_datasubject_change", args=[subject.pk])


@pytest.mark.parametrize("status", [DataSubject.Status.CLOSED, DataSubject.Status.ANONYMISED])
def test_no_save_or_delete_reaches_the_records_of_an_erased_subject(support_agent, status):
    subject = ClosedSubjectFactory(status=status)
    address = AddressFactory(subject=subject)
    service_use = ServiceUseFactory(subject=subject)
    before = subject.history.count() + address.history.count() + service_use.history.count()
    for instance, field, value in ((subject, "full_name", "Restored Name"), (address, "street", "Restored"),
                                   (service_use, "started_on", timezone.localdate())):
        setattr(instance, field, value)
        with pytest.raises(ValidationError) as error:
            record_save(instance=instance, actor=support_agent, reason="DSR #5: put it back")
        assert error.value.code == "erased"
    for instance in (address, service_use):
        with pytest.raises(ValidationError):
            record_delete(instance=instance, actor=support_agent, reason="DSR #5: tidy up")
    assert subject.history.count() + address.history.count() + service_use.history.count() == before
    assert DataSubject.objects.get(pk=subject.pk).full_name != "Restored Name"
    assert Address.objects.filter(pk=address.pk).exists()


def test_no_new_address_or_service_is_added_to_an_erased_subject(support_agent):
    subject = ClosedSubjectFactory()
    for new in (AddressFactory.build(subject=subject), ServiceUseFactory.build(subject=subject)):
        with pytest.raises(ValidationError) as error:
            record_save(instance=new, actor=support_agent, reason="DSR #6: new address")
        assert error.value.code == "erased"
    assert not subject.addresses.exists() and not subject.service_uses.exists()


def test_the_erasure_and_correction_services_still_may(support_agent):
    subject = ClosedSubjectFactory()
    address = AddressFactory(subject=subject)
    subject.full_name = ""
    record_save(instance=subject, actor=support_agent, reason="Request #4: erasure", allow_erased=True)
    record_delete(instance=address, actor=support_agent, reason="Request #4: erasure", allow_erased=True)
    assert DataSubject.objects.get(pk=subject.pk).full_name == ""
    assert not Address.objects.filter(pk=address.pk).exists()


def test_an_object_read_before_the_erasure_committed_is_refused(support_agent):
    """The state is read from the database under a lock, not from the object in hand."""
    subject = DataSubjectFactory()
    in_hand = DataSubject.objects.get(pk=subject.pk)
    subject.status, subject.status_changed_at = DataSubject.Status.CLOSED, timezone.now()
    record_save(instance=subject, actor=None, reason="Request #9: erasure")
    in_hand.full_name = "Restored Name"
    with pytest.raises(ValidationError):
        record_save(instance=in_hand, actor=support_agent, reason="Old page")


def test_closing_an_open_account_is_not_refused(support_agent):
    subject = DataSubjectFactory()
    subject.status, subject.status_changed_at = DataSubject.Status.CLOSED, timezone.now()
    record_save(instance=subject, actor=support_agent, reason="Account closed in the app")
    assert DataSubject.objects.get(pk=subject.pk).status == DataSubject.Status.CLOSED


def test_an_erased_subjects_page_is_read_only_addresses_included(agent_client):
    subject = ClosedSubjectFactory()
    AddressFactory(subject=subject)
    response = agent_client.get(change_url(subject))
    assert response.status_code == 200
    values = change_form_values(response)
    assert "change_reason" not in values and "full_name" not in values
    # Only the rows' hidden ids remain: no address field can be posted.
    assert {name for name in values if name.startswith("addresses-0-")} == {"addresses-0-id", "addresses-0-subject"}
    assert 'name="_save"' not in response.content.decode()


def test_the_reproduction_an_old_page_saved_after_the_retention_run_is_refused(agent_client):
    subject = DataSubjectFactory(full_name="Karimov Aziz", phone="+998901234567")
    AddressFactory(subject=subject)
    url = change_url(subject)
    old_page = change_form_values(agent_client.get(url))  # the agent opens the page
    # Meanwhile the account was closed four years ago (as the app reports it) and the run anonymises it.
    subject.status, subject.status_changed_at = DataSubject.Status.CLOSED, timezone.now() - timedelta(days=4 * 365)
    record_save(instance=subject, actor=None, reason="Account closed in the app")
    run = retention_apply(dry_run=False, started_by="scheduler")
    assert run.counts.get(model="subjects.DataSubject", rule__code="account-3y").anonymised == 1
    erased_state = DataSubject.objects.filter(pk=subject.pk).values().get()
    history_before = subject.history.count()

    old_page["change_reason"] = ["DSR #31: customer called about the address"]
    response = agent_client.post(url, old_page)

    assert response.status_code == 302
    assert any(ERASED in str(message) for message in get_messages(response.wsgi_request))
    assert DataSubject.objects.filter(pk=subject.pk).values().get() == erased_state
    assert erased_state["account_id"] == f"ERASED-{subject.pk}" and erased_state["full_name"] == ""
    assert subject.history.count() == history_before
    assert not Address.objects.filter(subject=subject).exists()
