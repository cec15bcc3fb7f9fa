"""A disclosure's subjects are named by account id, typed any way the subject form takes one."""

import pytest
from django import forms

from shipex_privacy.disclosures.forms import DisclosureForm
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db


def subjects_named(text: str):
    form = DisclosureForm()
    form.cleaned_data = {"subject_ids": text}
    return form.clean_subject_ids()


def test_ids_typed_in_any_case_with_dashes_or_other_scripts_digits_are_found():
    first, second, third = (DataSubjectFactory(account_id=f"SX100000{n}") for n in (1, 2, 3))
    typed = "sx1000001, SX-1000-002\nSX١٠٠٠٠٠٣\nＳＸ１０００００１"
    assert subjects_named(typed) == [first, second, third]


def test_unknown_or_malformed_ids_are_named_as_typed_and_nothing_is_taken():
    DataSubjectFactory(account_id="SX1000001")
    with pytest.raises(forms.ValidationError) as error:
        subjects_named("SX1000001, SX1000009, <b>x</b>")
    assert error.value.messages == ["No subject with account id: <b>x</b>, SX1000009."]


def test_no_ids_is_aggregate_data():
    assert subjects_named("  \n ,") == []
