"""recorded_job: one copy at a time, and a JobRun for every run an auditor can read."""

import threading

import psycopg
import pytest
from django.db import connection

from shipex_privacy.jobs.models import JobRun
from shipex_privacy.jobs.runs import job_lock, lock_key
from tests.jobs.factories import JobRunFactory


@pytest.mark.django_db
def test_a_run_records_when_how_long_and_what_it_did(scratch_job):
    job = scratch_job("tests.count", lambda: {"sealed": 3})

    assert job() == {"sealed": 3}

    run = JobRun.objects.get(job="tests.count")
    assert run.outcome == JobRun.Outcome.SUCCEEDED
    assert run.summary == {"sealed": 3}
    assert run.finished_at >= run.started_at and run.duration == run.finished_at - run.started_at
    assert run.host and run.error == ""


@pytest.mark.django_db
def test_a_second_copy_while_the_first_runs_does_nothing_and_says_skipped(scratch_job):
    done = []

    def work():
        done.append("first")
        inner = job()  # beat sent it again while this copy still runs
        return {"inner": inner}

    job = scratch_job("tests.long", work)
    assert job() == {"inner": {"skipped": True}}

    assert done == ["first"]  # the second copy never ran the work
    outcomes = sorted(JobRun.objects.filter(job="tests.long").values_list("outcome", flat=True))
    assert outcomes == ["skipped", "succeeded"]


@pytest.mark.django_db(transaction=True)
def test_a_copy_in_another_thread_is_skipped_while_the_first_holds_the_lock(scratch_job):
    """Two workers at once: the one that comes second records a skipped run and does nothing."""
    holding, release = threading.Event(), threading.Event()
    ran = []

    def slow():
        ran.append(threading.current_thread().name)
        holding.set()
        release.wait(timeout=30)
        return {"done": 1}

    job = scratch_job("tests.slow", slow)
    first = threading.Thread(target=lambda: (job(), connection.close()), name="worker-1")
    first.start()
    holding.wait(timeout=30)
    try:
        assert job() == {"skipped": True}
    finally:
        release.set()
        first.join(timeout=30)
    assert ran == ["worker-1"]
    assert sorted(JobRun.objects.filter(job="tests.slow").values_list("outcome", flat=True)) == ["skipped",
                                                                                               "succeeded"]


@pytest.mark.django_db
def test_the_lock_is_free_again_after_a_run_and_after_a_failure(scratch_job):
    def fail():
        raise RuntimeError("disk full")

    failing = scratch_job("tests.free", fail)
    with pytest.raises(RuntimeError):
        failing()
    with job_lock("tests.free") as held:
        assert held


@pytest.mark.django_db
def test_a_failing_job_records_its_error_and_still_fails(scratch_job):
    def broken():
        raise ValueError("Seal key changed since the last seal")

    job = scratch_job("tests.broken", broken)
    with pytest.raises(ValueError, match="Seal key changed"):
        job()

    run = JobRun.objects.get(job="tests.broken")
    assert run.outcome == JobRun.Outcome.FAILED
    assert "ValueError: Seal key changed since the last seal" in run.error
    assert "Traceback" in run.error and run.finished_at is not None


@pytest.mark.django_db
def test_a_run_left_running_by_a_dead_worker_is_marked_interrupted_by_the_next(scratch_job):
    dead = JobRunFactory(job="tests.again", outcome=JobRun.Outcome.RUNNING, finished_at=None, duration=None)
    job = scratch_job("tests.again", lambda: {"ok": 1})

    job()

    dead.refresh_from_db()
    assert dead.outcome == JobRun.Outcome.INTERRUPTED and dead.finished_at is not None
    assert JobRun.objects.filter(job="tests.again", outcome="succeeded").count() == 1


@pytest.mark.django_db
def test_a_result_that_is_not_a_dict_is_kept_as_the_summary(scratch_job):
    job = scratch_job("tests.plain", lambda: 17)
    job()
    assert JobRun.objects.get(job="tests.plain").summary == {"result": 17}


@pytest.mark.django_db(transaction=True)
def test_another_machine_holding_the_advisory_lock_makes_the_job_skip(scratch_job):
    """On PostgreSQL the lock lives in the database: a worker on another machine (here: a
    connection of our own) holding it is enough, whatever process this one is."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's advisory lock; SQLite lives on one machine and uses a file lock")
    job = scratch_job("tests.elsewhere", lambda: {"ran": 1})
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params) as other:
        assert other.execute("SELECT pg_try_advisory_lock(%s)", [lock_key("tests.elsewhere")]).fetchone()[0]
        assert job() == {"skipped": True}
    assert job() == {"ran": 1}  # the other machine's connection ended: its lock went with it
