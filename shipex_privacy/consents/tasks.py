"""Jobs of the consents app: consents whose term has ended lapse by themselves; the consent report's
figures fold the changes of past days."""

from celery import shared_task

from shipex_privacy.jobs.runs import recorded_job

from .figures import figures_fold
from .services import consents_lapse_due


@shared_task
@recorded_job("consents.lapse")
def lapse_consents() -> dict:
    """Record a lapse in the ledger for every consent whose term ended (idempotent)."""
    return {"lapsed": consents_lapse_due()}


@shared_task
@recorded_job("consents.fold_figures")
def fold_consent_figures() -> dict:
    """Fold the consent report's pending changes of past days into their day's figures (figures.py)."""
    return {"folded": figures_fold()}
