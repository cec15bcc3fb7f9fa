"""Jobs of the consents app: consents whose term has ended lapse by themselves."""

from celery import shared_task

from shipex_privacy.jobs.runs import recorded_job

from .services import consents_lapse_due


@shared_task
@recorded_job("consents.lapse")
def lapse_consents() -> dict:
    """Record a lapse in the ledger for every consent whose term ended (idempotent)."""
    return {"lapsed": consents_lapse_due()}
