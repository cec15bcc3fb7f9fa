"""The system checks keep the catalogue and our models honest with each other."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from shipex_privacy.catalogue.checks import check_catalogue_matches_models, check_fields_classified
from shipex_privacy.catalogue.models import PersonalDataField
from shipex_privacy.subjects.models import DataSubject
from tests.catalogue.factories import PersonalDataFieldFactory

pytestmark = pytest.mark.django_db


def catalogue_errors() -> list[tuple[str, str]]:
    messages = check_catalogue_matches_models(databases=["default"]) + check_fields_classified()
    return [(message.id, message.msg) for message in messages]


def test_seeded_catalogue_passes_every_check():
    assert catalogue_errors() == []
    call_command("check", databases=["default"], fail_level="WARNING")


def test_checks_that_read_the_catalogue_wait_for_a_database():
    assert check_catalogue_matches_models(databases=None) == []


def test_a_personal_data_field_without_catalogue_entry_fails():
    entry = PersonalDataField.objects.get(binding="subjects.DataSubject.phone")
    entry.binding = ""
    entry.save()
    assert catalogue_errors() == [
        ("catalogue.E001", "subjects.DataSubject.phone holds personal data but has no catalogue entry.")
    ]


def test_migrate_may_add_a_personal_data_field_together_with_its_catalogue_entry(monkeypatch):
    """migrate runs the checks before migrating; with migrations pending, the catalogue waits."""
    from django.db.migrations.executor import MigrationExecutor

    entry = PersonalDataField.objects.get(binding="subjects.DataSubject.phone")
    entry.binding = ""
    entry.save()
    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: [("a pending migration", False)])
    assert check_catalogue_matches_models(databases=["default"]) == []
    monkeypatch.undo()
    assert [error.id for error in check_catalogue_matches_models(databases=["default"])] == ["catalogue.E001"]


def test_a_binding_to_no_real_field_fails():
    PersonalDataFieldFactory(code="contact.nickname", binding="subjects.DataSubject.nickname")
    assert catalogue_errors() == [
        ("catalogue.E002", "Catalogue entry contact.nickname is bound to subjects.DataSubject.nickname, "
         "which is not a field.")
    ]


def test_an_entry_that_serves_no_purpose_fails():
    PersonalDataFieldFactory(code="contact.fax", purposes=[])
    errors = catalogue_errors()
    assert [error_id for error_id, _ in errors] == ["catalogue.E003"]
    assert "contact.fax serves no purpose" in errors[0][1]


def test_an_unclassified_model_field_fails(monkeypatch):
    monkeypatch.setattr(DataSubject, "NON_PERSONAL_FIELDS", ("id", "status_changed_at"))
    assert [(m.id, m.msg) for m in check_fields_classified()] == [
        ("catalogue.E004", "subjects.DataSubject.status is not classified as personal data or not.")
    ]


def test_check_command_fails_on_catalogue_errors():
    PersonalDataFieldFactory(code="contact.fax", purposes=[])
    with pytest.raises(SystemCheckError, match=r"catalogue\.E003"):
        call_command("check", databases=["default"])
