"""Alerts that follow a change elsewhere: sent only once that change has committed."""

import functools

from django.db import transaction


def alert_on_new_incident(sender, instance, created, raw=False, **kwargs) -> None:
    if not created or raw:
        return
    from .services import send_incident_alert

    # robust: a mail server that is down must not turn a saved incident into an error page; the
    # failure is logged (django.db.backends.base), and the morning digest does not depend on it.
    transaction.on_commit(functools.partial(send_incident_alert, incident=instance), robust=True)


def alert_on_failed_verification(sender, report, **kwargs) -> None:
    from .services import send_verify_audit_alert

    send_verify_audit_alert(report=report)
