import pytest

from shipex_privacy.jobs import runs


@pytest.fixture
def scratch_job():
    """Register a throw-away job for one test (the registry feeds /healthz), and forget it after."""
    registered = []

    def make(name, function):
        job = runs.recorded_job(name)(function)
        registered.append(name)
        return job

    yield make
    for name in registered:
        runs.JOBS.pop(name, None)
