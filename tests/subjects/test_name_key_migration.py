"""Migration subjects 0006 fills the name search key of the subjects that exist, each with a history row."""

import importlib

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from shipex_privacy.subjects.models import DataSubject
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db
migration = importlib.import_module("shipex_privacy.subjects.migrations.0006_name_search_key")


def test_the_migration_fills_each_key_once_with_a_history_row_naming_it():
    named = DataSubjectFactory(full_name="Gʻofurov Shoʻxrat")
    nameless = DataSubjectFactory(full_name="")
    # As the rows stood before the column existed: the key empty (a test's shortcut, not history-safe).
    DataSubject.objects.filter(pk__in=[named.pk, nameless.pk]).update(name_key="")
    rows = {subject.pk: subject.history.count() for subject in (named, nameless)}
    state = MigrationLoader(connection).project_state(("subjects", "0006_name_search_key")).apps

    migration.fill_name_keys(state, None)
    migration.fill_name_keys(state, None)  # a second run finds nothing left to do

    named.refresh_from_db()
    assert named.name_key == "gofurov shoxrat"
    assert named.history.count() == rows[named.pk] + 1
    latest = named.history.latest()
    assert (latest.name_key, latest.full_name, latest.history_change_reason, latest.history_username) == (
        "gofurov shoxrat", "Gʻofurov Shoʻxrat", migration.REASON, "system:migrate")
    assert nameless.history.count() == rows[nameless.pk]
    assert list(DataSubject.objects.search("gofurov", by_name=True)) == [named]
