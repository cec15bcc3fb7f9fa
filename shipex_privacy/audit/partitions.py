"""The access log by month on PostgreSQL: partitions made ahead, and whole months retired (issue 15).

docs/access-log.md has the design. The table is partitioned by migration audit 0009; the two
things the running back office does with partitions go through functions that migration and 0010
created, owned by the owner role (SECURITY DEFINER), because the app role may not create or drop
tables:

* ``make_partitions_ahead`` (the daily job ``audit.partitions``) calls
  ``shipex_access_log_partitions_ahead(months)``: this month and the next ``months``, each created
  once (idempotent).
* ``retire_access_log_month`` writes an :class:`AccessLogRetirement` seal and calls
  ``shipex_retire_access_log_month(seal id)`` in the same transaction, which deletes the month's
  digests, detaches and drops its partition; ``verify_audit`` then reports those rows as retired.

SQLite keeps one table: making partitions does nothing, and retiring is refused.
"""

import datetime
import hashlib
import hmac
from array import array
from bisect import bisect_left
from dataclasses import dataclass

from django.apps import apps as global_apps
from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import AccessEvent, AccessLogRetirement, AuditedTable, RowDigest, Seal
from .tamper import _encode_manifest, _framed, _key, decode_manifest, digest_rows

MONTHS_AHEAD = 3
RULE_CODE = "access-log"  # the catalogue's retention rule for the access log (catalogue 0012)
RETIREMENT_DOMAIN = b"shipex-audit/retirement/v1"
TABLE = AccessEvent._meta.db_table


def partition_name(month: datetime.date) -> str:
    return f"{TABLE}_y{month:%Y}m{month:%m}"


def month_bounds(month: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """The month's first moment and the next month's, in UTC (partitions are UTC months)."""
    first = datetime.datetime(month.year, month.month, 1, tzinfo=datetime.UTC)
    following = datetime.datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=datetime.UTC)
    return first, following


def is_partitioned(using: str = "default") -> bool:
    connection = connections[using]
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        row = cursor.fetchone()
    return bool(row and row[0])


def partitions(using: str = "default") -> list[str]:
    """The names of the log's partitions, the DEFAULT one included; [] on SQLite."""
    if not is_partitioned(using):
        return []
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                       "WHERE i.inhparent = to_regclass(%s) ORDER BY c.relname", [TABLE])
        return [name for (name,) in cursor.fetchall()]


def make_partitions_ahead(months: int = MONTHS_AHEAD, using: str = "default") -> dict[str, list[str]]:
    """Create this month's partition and the next ``months`` ones where missing (idempotent).

    Returns the months by outcome: ``created``, ``exists``, and ``in_default`` for a month whose
    rows were already written to the DEFAULT partition (it stays there; see docs/access-log.md).
    """
    found: dict[str, list[str]] = {"created": [], "exists": [], "in_default": []}
    if not is_partitioned(using):
        return found
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute("SELECT month, state FROM shipex_access_log_partitions_ahead(%s)", [months])
        for month, state in cursor.fetchall():
            found[state].append(f"{month:%Y-%m}")
    return found


def make_month_partitions(months: list[datetime.date], using: str = "default") -> dict[str, str]:
    """Past months' partitions, for whoever may make them (the owner role: the benchmark's scratch
    database); {} for the app role, whose rows of those months then go to DEFAULT, and on SQLite."""
    if not is_partitioned(using):
        return {}
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT has_function_privilege('shipex_access_log_make_month(date)', 'EXECUTE')")
        if not cursor.fetchone()[0]:
            return {}
        made = {}
        for month in sorted(set(months)):
            cursor.execute("SELECT shipex_access_log_make_month(%s)", [month])
            made[f"{month:%Y-%m}"] = cursor.fetchone()[0]
        return made


# --- retirement --------------------------------------------------------------------------------------


class RetirementRefused(ValidationError):
    """The month cannot be retired; the message says why. Nothing was changed."""


def retirement_mac(retirement: AccessLogRetirement) -> str:
    parts = [RETIREMENT_DOMAIN]
    for value in (retirement.table, f"{retirement.month:%Y-%m}", retirement.partition, retirement.row_count,
                  retirement.first_row_id, retirement.last_row_id, retirement.digests_chain,
                  hashlib.sha256(bytes(retirement.manifest)).hexdigest(), retirement.rule_code,
                  retirement.rule_period, retirement.reason, retirement.user_id, retirement.username,
                  retirement.retired_at.astimezone(datetime.UTC).isoformat()):
        parts.append(_framed(str(value).encode()))
    return hmac.new(_key(b"retirement"), b"".join(parts), hashlib.sha256).hexdigest()


def _rule():
    RetentionRule = global_apps.get_model("catalogue", "RetentionRule")
    rule = RetentionRule.objects.filter(code=RULE_CODE).first()
    if rule is None:
        raise RetirementRefused(_("The catalogue has no retention rule “%(code)s” for the access log.")
                                % {"code": RULE_CODE})
    return rule


def retirable_until(now: datetime.datetime | None = None) -> datetime.datetime:
    """Months that end at or before this moment are wholly past the access log's rule."""
    from shipex_privacy.retention.erasing import shift

    return shift(now or timezone.now(), _rule(), sign=-1)


def _refuse(message: str, **values) -> None:
    raise RetirementRefused(message % values)


def _checked_month(month: datetime.date, now: datetime.datetime, using: str) -> tuple[object, str]:
    if connections[using].vendor != "postgresql" or not is_partitioned(using):
        _refuse(_("The access log is partitioned by month only on PostgreSQL; here it is one table and "
                  "no month can be retired."))
    month = month.replace(day=1)
    this_month = now.astimezone(datetime.UTC).date().replace(day=1)
    if month >= this_month:
        _refuse(_("%(month)s is the current month or later: only a past month can be retired."),
                month=f"{month:%Y-%m}")
    rule = _rule()
    _first, following = month_bounds(month)
    if following > retirable_until(now):
        _refuse(_("%(month)s is not wholly past the access log's retention rule (%(period)s): its last "
                  "entries may be retired from %(date)s."), month=f"{month:%Y-%m}", period=rule.period_display,
                date=f"{timezone.localdate(_shifted(following, rule)):%Y-%m-%d}")
    if AccessLogRetirement.objects.using(using).filter(table=TABLE, month=month).exists():
        _refuse(_("%(month)s was retired already."), month=f"{month:%Y-%m}")
    name = partition_name(month)
    if name not in partitions(using):
        _refuse(_("%(month)s has no partition of its own: its entries, if any, are in the DEFAULT partition, "
                  "which is never retired."), month=f"{month:%Y-%m}")
    return rule, name


def _shifted(moment, rule):
    from shipex_privacy.retention.erasing import shift

    return shift(moment, rule)


@dataclass
class _Retired:
    entries: list  # (digest id, table, row id), by digest id
    chain: str
    count: int
    first: int
    last: int


def _month_digests(using: str, month: datetime.date, batch: int = 5000) -> _Retired:
    """The month's rows and their digests; refuses a row without a digest, or one that does not match it."""
    low, high = month_bounds(month)
    table_id = AuditedTable.objects.using(using).filter(name=TABLE).values_list("pk", flat=True).first()
    head = Seal.objects.using(using).order_by("-id").values_list("last_digest_id", flat=True).first() or 0
    rows = AccessEvent.objects.using(using).filter(at__gte=low, at__lt=high)
    ids = list(rows.order_by("pk").values_list("pk", flat=True))
    chain, entries = hashlib.sha256(), []
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        stored = {row_id: (digest_id, bytes(mac)) for digest_id, row_id, mac in RowDigest.objects.using(using)
                  .filter(table_id=table_id, row_id__in=chunk).values_list("pk", "row_id", "mac")}
        computed = {row_id: mac for _t, row_id, _l, mac in digest_rows(model=AccessEvent, row_ids=chunk, using=using)}
        for row_id in chunk:
            if row_id not in stored:
                _refuse(_("Access-log entry %(id)s has no digest: run verify_audit; nothing was retired."), id=row_id)
            digest_id, mac = stored[row_id]
            if not hmac.compare_digest(mac, computed[row_id]):
                _refuse(_("Access-log entry %(id)s does not match its digest: run verify_audit; nothing was "
                          "retired."), id=row_id)
            if digest_id > head:
                _refuse(_("The digest of access-log entry %(id)s is not sealed yet: run seal_audit first."),
                        id=row_id)
            chain = hashlib.sha256(chain.digest() + _framed(str(row_id).encode()) + mac)
            entries.append((digest_id, TABLE, row_id))
    entries.sort()
    return _Retired(entries, chain.hexdigest(), len(ids), ids[0] if ids else 0, ids[-1] if ids else 0)


def retire_access_log_month(*, month: datetime.date, reason: str, user=None, using: str = "default",
                            now: datetime.datetime | None = None) -> AccessLogRetirement:
    """Retire one month of the access log as a whole, in one transaction (docs/access-log.md).

    Refused, with nothing changed, for the current month or a later one, a month not wholly past
    the access log's retention rule, a month without a partition (the DEFAULT partition), one
    retired already, and on SQLite; also when a row of the month does not match its digest or a
    digest is not sealed yet.
    """
    reason = (reason or "").strip()
    if not reason:
        _refuse(_("Give the reason for retiring the month."))
    now = now or timezone.now()
    with transaction.atomic(using=using):
        rule, name = _checked_month(month, now, using)
        month = month.replace(day=1)
        with connections[using].cursor() as cursor:
            # No entry joins the month while it is sealed (a name from partitions(), quoted).
            cursor.execute(f"LOCK TABLE {connections[using].ops.quote_name(name)} IN SHARE MODE")
        retired = _month_digests(using, month)
        signed_in = user is not None and user.is_authenticated
        retirement = AccessLogRetirement(
            retired_at=now, table=TABLE, month=month, partition=name, row_count=retired.count,
            first_row_id=retired.first, last_row_id=retired.last, digests_chain=retired.chain,
            manifest=_encode_manifest(retired.entries), rule_code=rule.code, rule_period=f"{rule.period} {rule.unit}",
            reason=reason, user_id=user.pk if signed_in else None,
            username=user.get_username() if signed_in else "",
        )
        retirement.mac = retirement_mac(retirement)
        retirement.save(using=using)
        retirement.refresh_from_db(fields=["retired_at", "manifest"])  # as verify will read them
        if not hmac.compare_digest(retirement_mac(retirement), retirement.mac):
            raise RuntimeError("The retirement seal does not read back as written.")
        with connections[using].cursor() as cursor:
            cursor.execute("SELECT shipex_retire_access_log_month(%s)", [retirement.pk])
    return retirement


# --- what verify_audit reads --------------------------------------------------------------------------


class RetiredRows:
    """The (digest id, row id) pairs that retirement seals name, looked up when a sealed digest is missing."""

    def __init__(self, using: str):
        self.using = using
        self.retirements = list(AccessLogRetirement.objects.using(using).order_by("pk"))
        self.forged = [retirement for retirement in self.retirements
                       if not hmac.compare_digest(retirement_mac(retirement), retirement.mac)]
        self._loaded: dict[int, tuple[array, array]] = {}
        self.count = 0

    def covers(self, table: str, digest_id: int, row_id: int) -> bool:
        for retirement in self.retirements:
            if (retirement.table != table or retirement in self.forged
                    or not retirement.first_row_id <= row_id <= retirement.last_row_id):
                continue
            digest_ids, row_ids = self._entries(retirement)
            at = bisect_left(digest_ids, digest_id)
            if at < len(digest_ids) and digest_ids[at] == digest_id and row_ids[at] == row_id:
                self.count += 1
                return True
        return False

    def _entries(self, retirement) -> tuple[array, array]:
        if retirement.pk not in self._loaded:
            entries = decode_manifest(bytes(retirement.manifest))
            self._loaded[retirement.pk] = (array("q", (d for d, _t, _r in entries)),
                                           array("q", (r for _d, _t, r in entries)))
        return self._loaded[retirement.pk]

    def described(self) -> list[str]:
        return [f"{retirement.table} {retirement.month:%Y-%m}: {retirement.row_count} rows, ids "
                f"{retirement.first_row_id}–{retirement.last_row_id}, retired {retirement.retired_at:%Y-%m-%d} "
                f"under {retirement.rule_code} (seal #{retirement.pk})"
                for retirement in self.retirements if retirement not in self.forged]
