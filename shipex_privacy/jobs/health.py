"""``/healthz``: is the database up, is the broker up, and how did each scheduled job last end.

For load balancers and monitors: no sign-in, no personal data (job names, times and outcomes only),
503 when the database or the broker does not answer. The broker gets a real connection (Redis:
a PING) with a short timeout, so a monitor's request never hangs on it.
"""

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .models import JobRun
from .runs import JOBS


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone()[0] == 1
    except DatabaseError:
        return False


def broker_ok(timeout: float | None = None) -> bool:
    from config.celery import app

    timeout = settings.SHIPEX_HEALTHZ_BROKER_TIMEOUT if timeout is None else timeout
    try:
        options = {**app.conf.broker_transport_options, "socket_timeout": timeout}  # Redis: the PING's too
        with app.connection_for_write(connect_timeout=timeout, transport_options=options) as broker:
            # No retry: a broker that does not answer at once is down, as far as a monitor cares.
            broker.ensure_connection(max_retries=0, timeout=timeout)
            if broker.transport.driver_type == "redis":
                broker.default_channel.client.ping()
        return True
    except Exception:  # any failure to reach the broker (refused, timeout, DNS, auth) is "down"
        return False


def last_runs() -> list[dict]:
    """The last finished run of every recorded job, by name; None where a job has never run."""
    rows = []
    for name in sorted(JOBS):
        run = JobRun.objects.last_of(name)
        rows.append({"name": name, "finished_at": run.finished_at.isoformat() if run else None,
                     "outcome": run.outcome if run else None})
    return rows


@never_cache
@require_safe
def healthz(request):
    database, broker = database_ok(), broker_ok()
    body = {
        "status": "ok" if database and broker else "unavailable",
        "database": "ok" if database else "unavailable",
        "broker": "ok" if broker else "unavailable",
        "jobs": last_runs() if database else [],
    }
    return JsonResponse(body, status=200 if database and broker else 503)
