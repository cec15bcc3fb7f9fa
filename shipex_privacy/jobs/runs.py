"""Scheduled jobs: one copy at a time, each run recorded (``JobRun``) for auditors and ``/healthz``.

The contract, for every scheduled task in any app's ``tasks.py``::

    from celery import shared_task
    from shipex_privacy.jobs.runs import recorded_job

    @shared_task
    @recorded_job("integrations.deliver_outbox")
    def deliver_outbox() -> dict:
        sent, failed = outbox_deliver_due()          # the same service a command or the admin calls
        return {"sent": sent, "failed": failed}      # the summary: short, JSON, no personal data

- ``@shared_task`` goes outside, ``@recorded_job(name)`` inside, around a function that calls
  services (never its own copy of their rules) and returns a dict of counts / short text.
  ``name`` is ``<app>.<what>``, unique; it is what the admin's *Job runs* and ``/healthz`` show.
  The Celery task name stays the dotted path (``shipex_privacy.<app>.tasks.<function>``), which
  is what a schedule (django-celery-beat ``PeriodicTask``) names.
- **One copy at a time.** Before the function runs, the job's lock is taken without waiting. If
  another copy holds it (another worker, another machine, or beat sent it twice), this call does
  nothing, records a ``skipped`` run and returns ``{"skipped": True}``. The lock is
  PostgreSQL's session advisory lock, keyed by the job's name: every machine shares the
  database, and the database releases it when the holder's connection ends, so a killed worker
  never leaves it stuck (no lease to expire, no transaction held open for the whole run, which
  would turn the job's own transactions into savepoints). On SQLite, which lives on one machine,
  an operating-system lock on a file beside it does the same. A Redis lock was not chosen: it
  needs a lease that a long ``apply_retention`` could outlive, and the database is what the job
  writes anyway.
- **A record of every run**: started/finished, duration, outcome (succeeded, failed, skipped,
  interrupted), the summary, the error with its traceback, and the worker (host:pid). A run
  left ``running`` by a worker that died is marked ``interrupted`` by the job's next run.
- **Errors propagate** after they are recorded, so Celery counts the task as failed too.
- **Idempotent**: the function must be safe to run again after a crash halfway (Celery's
  ``acks_late`` redelivers a task whose worker died); seal, retention and the sweep are.
- The function runs outside any transaction of ours; it opens its own (``@transaction.atomic``
  in its services). Call it directly in tests: the same lock and record apply.
"""

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import socket
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connection
from django.utils import timezone

from .models import JobRun

# Every recorded job, by name → the function it runs (filled as the tasks modules are imported).
JOBS: dict[str, Callable] = {}
ERROR_KEPT = 10_000  # characters of traceback kept with a failed run

_process_locks: dict[str, threading.Lock] = {}
_process_locks_guard = threading.Lock()


def lock_key(name: str) -> int:
    """The advisory lock key of job ``name``: a signed 64-bit number, PostgreSQL's bigint."""
    digest = hashlib.sha256(f"shipex-job:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _process_lock(name: str) -> threading.Lock:
    with _process_locks_guard:
        return _process_locks.setdefault(name, threading.Lock())


@contextlib.contextmanager
def job_lock(name: str) -> Iterator[bool]:
    """Try to take job ``name``'s lock without waiting; yields whether this caller holds it.

    In this process a thread lock (PostgreSQL's advisory locks are re-entrant within one session,
    and an SQLite database in memory has no file); across processes and machines the database's.
    """
    local = _process_lock(name)
    if not local.acquire(blocking=False):
        yield False
        return
    try:
        if connection.vendor == "postgresql":
            key = lock_key(name)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
                held = cursor.fetchone()[0]
            try:
                yield held
            finally:
                if held and connection.connection is not None:  # a closed connection has released it
                    try:
                        with connection.cursor() as cursor:
                            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
                    except DatabaseError:  # the connection broke: its session, and the lock, are gone
                        pass
        elif connection.vendor == "sqlite" and not connection.is_in_memory_db():
            database = str(Path(connection.settings_dict["NAME"]).resolve())
            tag = hashlib.sha256(f"{database}:{name}".encode()).hexdigest()[:16]
            with open(Path(tempfile.gettempdir()) / f"shipex-job-{tag}.lock", "w") as lock_file:
                try:
                    fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    yield False
                    return
                yield True  # closing the file (or the process dying) releases it
        else:
            yield True
    finally:
        local.release()


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _json_summary(value) -> dict:
    """The function's summary as a JSON object (a non-dict result is kept under "result")."""
    if value is None:
        return {}
    summary = value if isinstance(value, dict) else {"result": value}
    return json.loads(json.dumps(summary, cls=DjangoJSONEncoder))  # dates and decimals as text


def run_job(name: str, function: Callable, *args, task_id: str = "", **kwargs) -> dict:
    """Run ``function`` as job ``name``: locked, recorded; see the module's docstring."""
    with job_lock(name) as held:
        if not held:
            now = timezone.now()
            JobRun.objects.create(job=name, task_id=task_id, started_at=now, finished_at=now,
                                  duration=now - now, outcome=JobRun.Outcome.SKIPPED, host=worker_name())
            return {"skipped": True}
        # With the lock held, a run still marked running cannot be running: its worker died.
        for stale in JobRun.objects.filter(job=name, outcome=JobRun.Outcome.RUNNING):
            stale.finish(outcome=JobRun.Outcome.INTERRUPTED)
        run = JobRun.objects.create(job=name, task_id=task_id, host=worker_name())
        try:
            summary = _json_summary(function(*args, **kwargs))
        except Exception as error:
            text = "".join(traceback.format_exception(error))
            run.finish(outcome=JobRun.Outcome.FAILED, error=text[-ERROR_KEPT:])
            raise
        run.finish(outcome=JobRun.Outcome.SUCCEEDED, summary=summary)
        return summary


def recorded_job(name: str) -> Callable[[Callable], Callable]:
    """Make ``function`` a locked, recorded job named ``name``; put ``@shared_task`` outside it."""

    def decorate(function: Callable) -> Callable:
        if name in JOBS and JOBS[name] is not function:
            raise ValueError(f"Two jobs are named {name!r}.")
        JOBS[name] = function

        @functools.wraps(function)
        def run(*args, **kwargs):
            from celery import current_task

            request = getattr(current_task, "request", None)
            return run_job(name, function, *args, task_id=getattr(request, "id", None) or "", **kwargs)

        run.job_name = name
        return run

    return decorate
