"""/healthz: database, broker, and the last run of each job; no sign-in, no personal data; 503 when down."""

import pytest
from django.db import DatabaseError

from config.celery import app as celery_app
from shipex_privacy.jobs.models import JobRun
from tests.jobs.factories import JobRunFactory
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db

UNREACHABLE = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def test_it_answers_without_sign_in_with_database_broker_and_the_last_run_of_each_job(client):
    JobRunFactory(job="audit.seal", outcome=JobRun.Outcome.FAILED, error="Seal key missing")
    newest = JobRunFactory(job="audit.seal")  # the newest one counts
    JobRunFactory(job="audit.seal", outcome=JobRun.Outcome.RUNNING, finished_at=None, duration=None)

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert (body["status"], body["database"], body["broker"]) == ("ok", "ok", "ok")
    jobs = {job["name"]: job for job in body["jobs"]}
    assert jobs["audit.seal"] == {"name": "audit.seal", "finished_at": newest.finished_at.isoformat(),
                                  "outcome": "succeeded"}
    # Every scheduled job is listed, also one that has never run.
    assert jobs["retention.apply"] == {"name": "retention.apply", "finished_at": None, "outcome": None}
    assert {"rights_requests.sweep_package_files", "rights_requests.check_deadlines",
            "rights_requests.check_notifications"} <= set(jobs)
    assert "no-cache" in response["Cache-Control"]


def test_it_shows_no_personal_data_nor_what_a_job_did(client):
    subject = DataSubjectFactory()
    JobRunFactory(job="audit.seal", summary={"note": subject.phone}, error="")
    text = client.get("/healthz").content.decode()
    assert subject.phone not in text and "note" not in text and "worker-2" not in text


def test_an_unreachable_broker_gives_503_and_says_which(client, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "broker_url", UNREACHABLE)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"], body["broker"]) == ("unavailable", "ok", "unavailable")


def test_an_unreachable_database_gives_503(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr("shipex_privacy.jobs.health.connection.cursor", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unavailable" and response.json()["jobs"] == []


def test_it_only_reads(client):
    assert client.post("/healthz").status_code == 405
