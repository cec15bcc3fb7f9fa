"""This app's lines on the auditor's home (core/home.py): the seal chain, the last verification,
reveals and refused reveals, and staff who read unusually many subjects this week.

What audit keeps about itself: every ``seal_audit`` run leaves ``Seal`` rows (the newest is the
chain head); ``verify_audit`` keeps nothing of its own, so its last result is read from the jobs
app's run records (``jobs.JobRun``, job ``audit.verify``) when that app is installed.

The access log is the largest table of all: its lines read ``access_action_at_home_idx``
(action, newest first), a week or less of it, and the week's readers are cached.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from statistics import median
from urllib.parse import urlencode

from django.apps import apps
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shipex_privacy.accounts.roles import AUDITOR
from shipex_privacy.core.home import HomeItem, cached, capped_count, register_home_item
from shipex_privacy.core.i18n import interpolate_lazy

from .models import AccessEvent, RowDigest, Seal

RECENT_DAYS = 7
RECENT_SHOWN = 5
# A reader is unusual past both: this many subjects in the week, and this many times the other readers' median.
UNUSUAL_AT_LEAST = 100
UNUSUAL_TIMES_MEDIAN = 3
VERIFY_JOB = "audit.verify"


def access_log_url(**params) -> str:
    return f"{reverse('admin:audit_accessevent_changelist')}?{urlencode(params)}"


@dataclass(frozen=True)
class ChainState:
    seal: Seal | None
    unsealed: int
    oldest_unsealed_at: datetime | None = None

    @property
    def head(self) -> str:
        return self.seal.mac if self.seal else ""

    @property
    def stale(self) -> bool:
        """A digest has waited more than a day for its seal: seal_audit is not running."""
        return self.oldest_unsealed_at is not None and self.oldest_unsealed_at < timezone.now() - timedelta(days=1)


def chain_state(user) -> ChainState:
    seal = Seal.objects.defer("manifest").order_by("-id").first()
    waiting = RowDigest.objects.filter(id__gt=seal.last_digest_id) if seal else RowDigest.objects.all()
    oldest = waiting.order_by("id").values_list("created_at", flat=True).first()  # the pk index's first row
    return ChainState(seal=seal, unsealed=capped_count(waiting), oldest_unsealed_at=oldest)


@dataclass(frozen=True)
class VerifyState:
    recorded: bool
    finished_at: datetime | None = None
    succeeded: bool | None = None
    summary: str = ""


def verify_state(user) -> VerifyState:
    """The last finished ``verify_audit`` job run (jobs.JobRun; the nightly schedule records one)."""
    JobRun = apps.get_model("jobs", "JobRun")
    run = (JobRun.objects.filter(job=VERIFY_JOB, finished_at__isnull=False)
           .exclude(outcome=JobRun.Outcome.SKIPPED).order_by("-finished_at").first())
    if run is None:
        return VerifyState(recorded=False)
    succeeded = run.outcome == JobRun.Outcome.SUCCEEDED
    # A failed run's error is the findings (tables and row ids); the traceback after it is for developers.
    summary = _("%(rows)s rows and %(seals)s seals checked.") % {
        "rows": run.summary.get("rows", 0), "seals": run.summary.get("seals", 0)} if succeeded else \
        run.error.strip().splitlines()[-1].partition(": ")[2][:300] if run.error.strip() else ""
    return VerifyState(recorded=True, finished_at=run.finished_at, succeeded=succeeded, summary=str(summary))


def recent(action: str):
    return AccessEvent.objects.filter(action=action, at__gte=timezone.now() - timedelta(days=RECENT_DAYS))


def last_events(action: str) -> list[AccessEvent]:
    return list(recent(action).order_by("-at").only("at", "user_id", "username", "field", "subject_id",
                                                      "reason")[:RECENT_SHOWN])


@dataclass(frozen=True)
class Reader:
    user_id: int
    username: str
    subjects: int

    @property
    def url(self) -> str:
        return access_log_url(user_id=self.user_id, action__exact=AccessEvent.Action.SUBJECT_VIEW)


def week_start(now=None) -> datetime:
    today = timezone.localdate(now or timezone.now())
    return timezone.make_aware(datetime.combine(today - timedelta(days=today.weekday()), time.min))


def unusual_readers() -> list[Reader]:
    """Staff whose subject openings this week (distinct subjects) stand out from everyone else's."""
    rows = (AccessEvent.objects.filter(action=AccessEvent.Action.SUBJECT_VIEW, at__gte=week_start(),
                                       user_id__isnull=False)
            .order_by().values("user_id", "username").annotate(subjects=Count("subject_id", distinct=True)))
    readers = [Reader(row["user_id"], row["username"], row["subjects"]) for row in rows]

    def stands_out(reader: Reader) -> bool:
        # Against everyone else's median, so that one heavy reader does not raise their own bar.
        others = [other.subjects for other in readers if other is not reader] or [0]
        return reader.subjects >= max(UNUSUAL_AT_LEAST, UNUSUAL_TIMES_MEDIAN * median(others))

    return sorted((reader for reader in readers if stands_out(reader)), key=lambda reader: -reader.subjects)


def register() -> None:
    auditor = (AUDITOR,)
    log = "audit.view_accessevent"
    register_home_item(HomeItem(
        key="audit.seal_chain", roles=auditor, title=_("Seal chain (seal_audit)"), permission="audit.view_trailentry",
        order=50, url=lambda user: None, template="admin/home/audit_chain.html", detail=chain_state,
    ))
    register_home_item(HomeItem(
        key="audit.last_verify", roles=auditor, title=_("Last verification of the record (verify_audit)"),
        permission="audit.view_trailentry", order=51, url=lambda user: None,
        template="admin/home/audit_verify.html", detail=verify_state,
    ))
    register_home_item(HomeItem(
        key="audit.reveals", roles=auditor, permission=log, order=52,
        title=interpolate_lazy(_("Masked identifiers revealed in the last %(days)s days"), {"days": RECENT_DAYS}),
        count=lambda user: capped_count(recent(AccessEvent.Action.IDENTIFIER_REVEAL)),
        url=lambda user: access_log_url(action__exact=AccessEvent.Action.IDENTIFIER_REVEAL),
        template="admin/home/access_events.html", detail=lambda user: last_events(AccessEvent.Action.IDENTIFIER_REVEAL),
    ))
    register_home_item(HomeItem(
        key="audit.refused_reveals", roles=auditor, permission=log, order=53, alarm=True,
        title=interpolate_lazy(_("Refused reveals in the last %(days)s days"), {"days": RECENT_DAYS}),
        count=lambda user: capped_count(recent(AccessEvent.Action.REVEAL_REFUSED)),
        url=lambda user: access_log_url(action__exact=AccessEvent.Action.REVEAL_REFUSED),
        template="admin/home/access_events.html", detail=lambda user: last_events(AccessEvent.Action.REVEAL_REFUSED),
    ))
    register_home_item(HomeItem(
        key="audit.unusual_readers", roles=auditor, permission=log, order=54, alarm=True,
        title=_("Staff who opened unusually many subjects this week"),
        count=lambda user: len(cached("unusual_readers", unusual_readers)),
        url=lambda user: access_log_url(action__exact=AccessEvent.Action.SUBJECT_VIEW),
        template="admin/home/readers.html", detail=lambda user: cached("unusual_readers", unusual_readers),
    ))


register()
