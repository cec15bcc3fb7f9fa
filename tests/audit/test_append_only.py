"""History is evidence: the database itself refuses to change or remove it, on both databases."""

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, models, transaction

from shipex_privacy.audit.guards import append_only_tables, guarded_operations
from shipex_privacy.catalogue.models import PersonalDataField
from shipex_privacy.core.dbroles import as_owner
from shipex_privacy.subjects.models import DataSubject
from tests.subjects.factories import DataSubjectFactory

HISTORY_TABLE = DataSubject.history.model._meta.db_table


def expected_operations() -> set[str]:
    return {"UPDATE", "DELETE", "TRUNCATE"} if connection.vendor == "postgresql" else {"UPDATE", "DELETE"}


def raw(sql: str) -> None:
    # The savepoint keeps PostgreSQL's transaction usable after the refusal.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)


@pytest.mark.django_db
def test_every_history_table_is_guarded():
    tables = append_only_tables(connection)
    assert HISTORY_TABLE in tables
    assert PersonalDataField.history.model._meta.db_table in tables
    assert "catalogue_historicalpersonaldatafield_purposes" in tables
    guarded = guarded_operations(connection)
    assert {table: guarded.get(table) for table in tables} == {table: expected_operations() for table in tables}


@pytest.mark.django_db
def test_raw_update_of_history_is_refused():
    subject = DataSubjectFactory(full_name="Karimov Aziz Rustam oʻgʻli")
    with pytest.raises(DatabaseError, match="append-only"):
        raw(f"UPDATE {HISTORY_TABLE} SET full_name = 'Someone else'")
    assert list(DataSubject.history.filter(id=subject.pk).values_list("full_name", flat=True)) == [
        "Karimov Aziz Rustam oʻgʻli"
    ]


@pytest.mark.django_db
def test_raw_delete_of_history_is_refused():
    subject = DataSubjectFactory()
    with pytest.raises(DatabaseError, match="append-only"):
        raw(f"DELETE FROM {HISTORY_TABLE}")
    assert DataSubject.history.filter(id=subject.pk).count() == 1


@pytest.mark.django_db
def test_orm_delete_of_history_is_refused_too():
    subject = DataSubjectFactory()
    with pytest.raises(DatabaseError), transaction.atomic():
        DataSubject.history.filter(id=subject.pk).delete()
    assert DataSubject.history.filter(id=subject.pk).exists()


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no TRUNCATE")
def test_truncate_of_history_is_refused_on_postgresql():
    DataSubjectFactory()
    # As the app role (CI's split roles) TRUNCATE is not even granted; as the owner the guard refuses it.
    with pytest.raises(DatabaseError, match=r"append-only|permission denied"):
        raw(f"TRUNCATE {HISTORY_TABLE}")
    assert DataSubject.history.exists()


@pytest.mark.django_db
def test_history_can_still_grow():
    subject = DataSubjectFactory()
    subject.full_name = "Tursunova Madina Anvar qizi"
    subject._change_reason = "DSR #7: subject corrected the name"
    subject.save()
    assert DataSubject.history.filter(id=subject.pk).count() == 2


@pytest.mark.django_db(transaction=True)
def test_guards_come_back_after_a_migration_rebuilds_a_history_table():
    history_model = DataSubject.history.model
    old_field = history_model._meta.get_field("full_name")
    wider = models.CharField(max_length=250, blank=True)
    wider.set_attributes_from_name("full_name")
    wider.model = history_model
    try:
        with as_owner(), connection.schema_editor() as editor:  # DDL: only the owner role may do it
            editor.alter_field(history_model, old_field, wider)
        if connection.vendor == "sqlite":
            # The trap this test is about: SQLite rebuilt the table and its triggers went with it.
            assert HISTORY_TABLE not in guarded_operations(connection)
        call_command("migrate", verbosity=0)
        assert guarded_operations(connection)[HISTORY_TABLE] == expected_operations()
    finally:
        with as_owner(), connection.schema_editor() as editor:
            editor.alter_field(history_model, wider, old_field)
        call_command("migrate", verbosity=0)
    assert guarded_operations(connection)[HISTORY_TABLE] == expected_operations()


@pytest.mark.django_db
def test_flush_is_refused_outside_the_test_settings(monkeypatch):
    subject = DataSubjectFactory()
    monkeypatch.setattr(settings, "AUDIT_GUARDS_REMOVABLE", False)
    with pytest.raises(CommandError, match="append-only"):
        call_command("flush", interactive=False, verbosity=0)
    assert DataSubject.objects.filter(pk=subject.pk).exists()
    assert guarded_operations(connection)[HISTORY_TABLE] == expected_operations()
