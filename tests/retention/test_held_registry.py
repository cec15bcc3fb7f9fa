"""Every model linked to a data subject says how its records are held (issue 12): registered by its app."""

import pytest
from django.apps import apps
from simple_history.models import HistoricalChanges

from shipex_privacy.catalogue.models import PersonalDataField
from shipex_privacy.retention import erasing


def _links_to_subject(model) -> bool:
    return any(field.related_model is not None and field.related_model._meta.label == "subjects.DataSubject"
               for field in model._meta.concrete_fields if field.many_to_one or field.one_to_one)


def test_every_model_with_a_key_to_a_subject_is_registered_or_declared_as_holding_no_personal_data():
    held, not_held = erasing.held_models(), erasing.not_held_models()
    # History rows follow the record they copy (audit/, append-only); they are not registered apart.
    linked = [model._meta.label for model in apps.get_models()
              if _links_to_subject(model) and not issubclass(model, HistoricalChanges)]

    assert linked  # the walk found the models it is about
    unaccounted = [label for label in linked if label not in held and label not in not_held]
    assert not unaccounted, (
        f"{unaccounted} link to subjects.DataSubject: register them in their app's ready() with "
        "retention.erasing.register_held_model(), or register_not_held(label, reason=…) saying why not.")
    assert not set(held) & set(not_held)
    assert all(reason.strip() for reason in not_held.values())


def test_every_registered_label_is_a_model_and_finds_its_subject():
    for label, held in erasing.held_models().items():
        model = apps.get_model(label)
        assert erasing.held_model(model) is held
        if held.subject_path not in ("pk", None):  # None: records of many subjects (a disclosure's file)
            model._meta.get_field(held.subject_path.split("__")[0])  # the path starts at a field of the model
    for label in erasing.not_held_models():
        apps.get_model(label)


@pytest.mark.django_db
def test_every_model_the_catalogue_is_bound_to_is_a_registered_held_model():
    bound = {entry.bound_model_field().model for entry in PersonalDataField.objects.exclude(binding="")}

    assert bound
    assert [model._meta.label for model in bound if erasing.held_model(model) is None] == []


def test_registering_another_entry_for_a_registered_model_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        erasing.register_held_model(erasing.HeldModel("subjects.Address", "subject"))
    assert erasing.held_model(apps.get_model("subjects.Address")).deletable  # the app's own entry stays
