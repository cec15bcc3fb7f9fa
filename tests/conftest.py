import pytest
from factory.random import reseed_random

from shipex_privacy.accounts.roles import AUDITOR, COMPLIANCE_OFFICER, SUPPORT_AGENT
from tests.accounts.factories import StaffFactory


@pytest.fixture(autouse=True)
def _same_random_data_each_run():
    reseed_random(20261125)


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
