"""A real Celery worker against the real Redis broker runs a scheduled task and leaves its JobRun.

Without Redis these tests are skipped on a developer's machine, never in CI (CI=true), where a
missing broker is a failure: .ci/run starts Redis and exports SHIPEX_TEST_BROKER_URL.
"""

import os
import time
import uuid

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker

from shipex_privacy.jobs.models import JobRun

BROKER_URL = os.environ.get("SHIPEX_TEST_BROKER_URL", "redis://127.0.0.1:6379/1")


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def redis_broker():
    if not redis_answers(BROKER_URL):
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI runs the job tests against the real Redis broker, and {BROKER_URL} does not answer.")
        pytest.skip(f"No Redis at {BROKER_URL} (SHIPEX_TEST_BROKER_URL); CI never skips this.")
    return BROKER_URL


@pytest.fixture
def worker_app(redis_broker):
    """Our Celery configuration and tasks, on Redis, with a queue of this test's own (others may
    share the Redis database)."""
    app = Celery("shipex-test-worker", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(broker_url=redis_broker, broker_transport_options={},
                    task_default_queue=f"shipex-test-{uuid.uuid4().hex[:12]}", worker_hijack_root_logger=False)
    app.loader.import_default_modules()  # every app's tasks.py: shared tasks bind to this app too
    yield app
    import redis

    client = redis.Redis.from_url(redis_broker)
    queue = app.conf.task_default_queue
    # Leave the shared Redis database as it was.
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


def wait_for_run(job: str, timeout: float = 60) -> JobRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = JobRun.objects.finished().filter(job=job).first()
        if run is not None:
            return run
        time.sleep(0.2)
    raise AssertionError(f"No finished run of {job} after {timeout} s")


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_on_redis_runs_the_deadline_check_and_records_it(worker_app):
    with start_worker(worker_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        result = worker_app.tasks["shipex_privacy.rights_requests.tasks.check_deadlines"].delay()
        run = wait_for_run("rights_requests.check_deadlines")

    assert run.outcome == JobRun.Outcome.SUCCEEDED
    assert run.task_id == result.id  # the record names the Celery task it came from
    assert run.summary == {"overdue": 0, "due_within_3_days": 0}


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_records_the_seal_job(worker_app):
    with start_worker(worker_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        worker_app.tasks["shipex_privacy.audit.tasks.seal_audit"].delay()
        run = wait_for_run("audit.seal")

    assert run.outcome == JobRun.Outcome.SUCCEEDED
    assert set(run.summary) == {"seals", "digests", "head_seal"}
