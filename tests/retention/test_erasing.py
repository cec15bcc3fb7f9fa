"""The shared erasure step: what each field becomes, and a second pass that writes nothing."""

import pytest

from shipex_privacy.catalogue.models import PersonalDataField
from shipex_privacy.retention import erasing
from shipex_privacy.subjects.models import Address, DataSubject
from tests.retention.factories import ServiceUseFactory
from tests.subjects.factories import AddressFactory, DataSubjectFactory

pytestmark = pytest.mark.django_db


def entries(model, *names):
    bound = PersonalDataField.objects.bound_to(model)
    return [bound[name] for name in names]


def test_blank_null_default_and_replacement():
    subject = DataSubjectFactory(preferred_language="ru", status=DataSubject.Status.CLOSED)

    plan = erasing.erase_fields(instance=subject, actor=None, reason="Test", entries=entries(
        DataSubject, "account_id", "phone", "birth_date", "preferred_language"))

    subject.refresh_from_db()
    assert (subject.account_id, subject.phone, subject.birth_date, subject.preferred_language) == (
        f"ERASED-{subject.pk}", "", None, "uz")
    assert plan.anonymised and not plan.delete_row
    assert [plan.outcome(entry) for entry in entries(DataSubject, "account_id", "phone")] == ["anonymised", "erased"]


def test_a_second_pass_writes_no_history():
    subject = DataSubjectFactory(status=DataSubject.Status.CLOSED)
    fields = entries(DataSubject, "full_name", "email", "account_id", "registered_at")
    erasing.erase_fields(instance=subject, entries=fields, actor=None, reason="Test")
    rows = subject.history.count()

    plan = erasing.erase_fields(instance=DataSubject.objects.get(pk=subject.pk), entries=fields, actor=None,
                                reason="Test")

    assert not plan
    assert subject.history.count() == rows


def test_a_record_that_cannot_exist_without_the_field_is_deleted():
    address, use = AddressFactory(), ServiceUseFactory()
    address_pk, use_pk = address.pk, use.pk

    erasing.erase_fields(instance=address, actor=None, reason="Test", entries=entries(
        Address, "region", "city", "street", "landmark", "postal_code"))
    erasing.erase_fields(instance=use, actor=None, reason="Test", entries=entries(
        type(use), "service", "started_on"))

    assert not Address.objects.filter(pk=address_pk).exists()
    assert not type(use).objects.filter(pk=use_pk).exists()
    assert Address.history.filter(id=address_pk).latest().history_type == "-"


def test_a_record_still_holding_other_data_is_kept_with_placeholders():
    address = AddressFactory(landmark="Chorsu bozori yonida")

    plan = erasing.erase_fields(instance=address, actor=None, reason="Test",
                                entries=entries(Address, "street", "postal_code"))

    address.refresh_from_db()
    assert not plan.delete_row
    assert (address.street, address.postal_code, address.landmark) == (
        erasing.PLACEHOLDER, "", "Chorsu bozori yonida")
    rows = address.history.count()
    assert not erasing.erase_fields(instance=address, actor=None, reason="Test",
                                    entries=entries(Address, "street", "postal_code"))
    assert address.history.count() == rows
    # Once the rest goes too, the record holds nothing but placeholders: it is deleted.
    pk = address.pk
    plan = erasing.erase_fields(instance=address, actor=None, reason="Test",
                                entries=entries(Address, "region", "city", "landmark"))
    assert plan.delete_row and not Address.objects.filter(pk=pk).exists()


def test_append_only_ledgers_are_never_planned():
    from shipex_privacy.consents.models import ConsentEvent

    with pytest.raises(erasing.ErasureImpossible, match="append-only"):
        erasing.plan_erasure(ConsentEvent(), [])
