"""A purpose's clause is a number of the policy in ASCII digits (``1.3.2.5``): \\d let other scripts' through."""

import pytest
from django.core.exceptions import ValidationError

from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.models import Purpose
from tests.catalogue.factories import PurposeFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("clause", ["١.٣.٢", "１.３.２", "1.3.²", "1", "1..3", "1.3.", "<b>1.3</b>"])
def test_a_clause_in_other_digits_or_shapes_is_refused(compliance_officer, clause):
    purpose = PurposeFactory.build(clause=clause)
    with pytest.raises(ValidationError) as error:
        record_save(instance=purpose, actor=compliance_officer, reason="New purpose")
    assert "clause" in error.value.message_dict
    assert not Purpose.objects.filter(clause=clause).exists()


def test_a_clause_number_is_accepted(compliance_officer):
    purpose = PurposeFactory.build(clause="9.3.2.7")
    record_save(instance=purpose, actor=compliance_officer, reason="New purpose")
    assert Purpose.objects.get(clause="9.3.2.7") == purpose
