import importlib

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.utils import translation
from factory.random import reseed_random
from hypothesis import HealthCheck, settings

from shipex_privacy.accounts.roles import AUDITOR, COMPLIANCE_OFFICER, SUPPORT_AGENT
from shipex_privacy.catalogue.models import PersonalDataField
from shipex_privacy.core import dbroles
from tests.accounts.factories import StaffFactory
from tests.owner import install_owner_function

# Property tests check what is refused, not how fast: on a busy machine (CI on 2 cores) an example
# that takes long must not fail the run. A test's own @settings keeps these unless it says otherwise.
settings.register_profile("shipex", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("shipex")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """With DATABASE_OWNER_URL (CI's split roles), the test database is created and migrated by the owner.

    pytest-django creates ``test_<NAME>`` itself; the owner role may create databases, the app
    role may not, and only the owner may install the guards after migrate. See django_db_setup.
    """
    dbroles.use_owner_credentials()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """...and the tests run as the app role, which owns nothing (docs/database-roles.md)."""
    with django_db_blocker.unblock():
        install_owner_function()  # only for the tests that play the owner; see tests/owner.py
        dbroles.use_app_credentials()
    yield
    with django_db_blocker.unblock():
        dbroles.use_owner_credentials()  # pytest-django drops the test database as its owner


@pytest.fixture(autouse=True)
def _forget_audit_table_ids():
    """Tamper evidence caches the ids of its table rows once committed (audit/tamper.py); a test that
    runs on-commit callbacks itself (``django_capture_on_commit_callbacks(execute=True)``) caches
    ids of rows its rollback then removes, which broke the next test's digests. Forget them."""
    yield
    from shipex_privacy.audit.tamper import forget_cached_ids

    forget_cached_ids()


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """The API's rate limits count calls in the cache, keyed by client id; SQLite reuses the ids of
    rolled-back rows, so without this a test's client could start with another test's calls."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _same_random_data_each_run():
    reseed_random(20261125)


@pytest.fixture(autouse=True)
def _messages_in_english():
    """Services' messages come out in English, the source language, in the test's own thread.

    Requests through the test client still get the back office's Uzbek default; tests that read
    English from a page set the ``django_language`` cookie, and the i18n tests check the default.
    """
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _private_files_in_tmp(settings, tmp_path, monkeypatch):
    """Access packages and disclosure exports a test builds go to its own temporary directory, never the checkout."""
    from django.core.files.storage import storages

    from shipex_privacy.disclosures.models import DisclosureExport
    from shipex_privacy.rights_requests.models import AccessPackage

    settings.STORAGES = {**settings.STORAGES, **{
        alias: {"BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": tmp_path / folder, "base_url": None}}
        for alias, folder in (("access_packages", "access-packages"), ("disclosure_exports", "disclosure-exports"))
    }}
    # A FileField reads its storage callable once, when the model class is built.
    monkeypatch.setattr(AccessPackage._meta.get_field("file"), "storage", storages["access_packages"])
    monkeypatch.setattr(DisclosureExport._meta.get_field("file"), "storage", storages["disclosure_exports"])


@pytest.fixture
def compliance_officer(db):
    return StaffFactory(username="nodira", role=COMPLIANCE_OFFICER)


@pytest.fixture
def support_agent(db):
    return StaffFactory(username="jasur", role=SUPPORT_AGENT)


@pytest.fixture
def auditor(db):
    return StaffFactory(username="gulnora", role=AUDITOR)


@pytest.fixture
def role_user(request, db):
    """The staff member of the role named by indirect parametrisation."""
    return StaffFactory(username=request.param.lower().replace(" ", "_"), role=request.param)


@pytest.fixture
def catalogue(transactional_db):
    """The seeded data catalogue, which decides the subject form's fieldsets and mandatory fields.

    Between live-server tests the test runner flushes every table, so the rows that migration
    catalogue 0002 seeded are gone after the first such test. Django's usual answer,
    serialized_rollback, reloads rows with UPDATE-then-INSERT, which the append-only guards
    refuse on history tables; so replay the seed instead, with the migration state's models
    (no history signals, exactly the rows the migration writes).
    """
    if not PersonalDataField.objects.exists():
        state = MigrationLoader(connection).project_state().apps
        # The entries, the services (catalogue 0004), how bound values are masked (0006), the processing
        # activities (0010), the systems' and rules' Uzbek and Russian (0011) and the activities' and the
        # transfer reference's (0012), as migrate does.
        for migration in ("0002_seed_catalogue", "0004_seed_services", "0006_masking",
                          "0010_seed_processing_activities", "0011_seeded_texts_in_uz_ru",
                          "0012_activity_and_transfer_texts_in_uz_ru"):
            importlib.import_module(f"shipex_privacy.catalogue.migrations.{migration}").seed(state, None)
    # The requests' deadline table and response templates are seeded the same way.
    from shipex_privacy.rights_requests.models import DeadlineRule, ResponseTemplate

    for model, migrations in ((DeadlineRule, ("0002_seed_deadline_rules", "0018_deadline_rule_texts_in_uz_ru")),
                              (ResponseTemplate, ("0005_seed_response_templates", "0016_seed_extension_letters"))):
        if not model.objects.exists():
            for migration in migrations:
                seed = importlib.import_module(f"shipex_privacy.rights_requests.migrations.{migration}").seed
                seed(MigrationLoader(connection).project_state().apps, None)
