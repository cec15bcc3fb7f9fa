"""The consent report's figures, kept up to date by the ledger writes, so the report reads a few
rows per purpose and day instead of the whole ledger (issue 15).

The ledger's reading (reports.py's docstring): each grant opens an interval that the consent's next
event in ledger order, or the grant's term, closes; a consent is in force at ``t`` when one of its
grant intervals covers ``t`` (``start <= t < end``). So the consents of a purpose in force at ``t`` are
the interval starts at or before ``t`` less the ends at or before ``t``: a running sum of +1 at every
start and −1 at every end. A lapse closes nothing (the term has closed the interval already), which is
why the figure at a month-end between a term's end and the lapse job's write already says "not in
force", exactly as ``in_force_at`` does.

What is stored, only for consents to ShipEx itself (no recipient kind), the ones the report counts:

* ``ConsentFigureChange``: the +n/−n changes, at their exact moments. Every ledger write (the services
  one at a time, the bulk path in intake.py) computes the consent's intervals before and after its new
  rows and writes the difference, in the same transaction as the ledger rows. A late event (older than
  events already recorded) moves the end of the interval it lands in and may open one of its own: its
  difference rows sit at those moments, so every month-end after it changes, and none before it.
  Append-only rows, so concurrent writers never wait on each other.
* ``ConsentFigure``: per purpose and closed local day, the sum of that day's changes. The fold job
  (tasks.fold_consent_figures, every hour) moves the changes dated before today into it; a late change
  dated months ago is folded into its own day at the next run.

So at a month-end (the last microsecond of a local day) the count is the sum of the figures and the
pending changes up to that day; at a moment of today (the report's "now") the figures, which are all of
past days, plus the pending changes at or before it. The rows read grow with the days the ledger spans
and the changes of one day, not with the ledger. Other moments (inside a past day, where the folded
figure no longer says when in the day a change happened) are read from the ledger as before.

The figures are derived and checked: ``figures_drift`` recomputes them from the ledger in one pass and
names every purpose and day that disagrees; verify_audit runs it (integrity.py). They carry no history
row: nothing in them is decided by anyone, and they can be rebuilt from the ledger at any time
(``fill_from_ledger``, which the migration that created them and the benchmark's loader use).
"""

from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta

from django.db import connection, connections, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from .models import Consent, ConsentEvent, ConsentFigure, ConsentFigureChange

GRANT = ConsentEvent.Kind.GRANT


def intervals(events) -> list[tuple[datetime, datetime | None]]:
    """The grant intervals of one consent's ledger ``events`` (in ledger order): (start, end or None)."""
    found = []
    for index, event in enumerate(events):
        if event.kind != GRANT:
            continue
        end = events[index + 1].occurred_at if index + 1 < len(events) else None
        if event.expires_at is not None and (end is None or event.expires_at < end):
            end = event.expires_at
        if end is None or end > event.occurred_at:
            found.append((event.occurred_at, end))
    return found


def differences(before, after) -> dict[datetime, int]:
    """Moment → change in force, from a consent's ledger ``before`` its new rows to ``after``."""
    change = Counter()
    for sign, events in ((1, after), (-1, before)):
        for start, end in intervals(events):
            change[start] += sign
            if end is not None:
                change[end] -= sign
    return {at: n for at, n in change.items() if n}


def change_rows(ledgers) -> list[ConsentFigureChange]:
    """The pending changes of ``ledgers``: (consent, events before, events after), unsaved."""
    rows = []
    zone = timezone.get_current_timezone()  # once: looking it up costs more than the conversion, row after row
    for consent, before, after in ledgers:
        if consent.recipient_kind:
            continue
        for at, n in sorted(differences(before, after).items()):
            rows.append(ConsentFigureChange(purpose_id=consent.purpose_id, at=at, day=timezone.localdate(at, zone),
                                            change=n))
    return rows


def record_changes(ledgers) -> int:
    """Write the changes of ``ledgers`` (see ``change_rows``) in the caller's transaction; how many rows.

    One INSERT for all. The figure tables are derived, not tracked (no history), so a bulk insert is
    the audited path's business only in that it runs inside the transaction of the ledger rows.
    """
    rows = change_rows(ledgers)
    if rows:
        ConsentFigureChange.objects.bulk_create(rows)
    return len(rows)


def start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _day_end(moment: datetime) -> date | None:
    """The local day of which ``moment`` is the last microsecond, or None."""
    after = timezone.localtime(moment + timedelta(microseconds=1))
    return after.date() - timedelta(days=1) if after.time() == time.min else None


def in_force_counts(purpose_ids, moments: list[datetime]) -> dict[int, list[int]]:
    """Purpose id → how many of its consents to ShipEx itself were in force at each of ``moments``.

    The same numbers as ``reports.consents_in_force_per_purpose``: two queries over the figures for
    moments that end a local day or fall today or later; the others are read from the ledger.
    """
    from .reports import consents_in_force_per_purpose

    purpose_ids = list(purpose_ids)
    if not purpose_ids or not moments:
        return {}
    today = timezone.localdate()
    by_day, exact, other = {}, {}, []
    for index, moment in enumerate(moments):
        if timezone.localdate(moment) >= today:
            exact[index] = moment
        elif (day := _day_end(moment)) is not None:
            by_day[index] = day
        else:
            other.append(index)
    counts = {purpose_id: [0] * len(moments) for purpose_id in purpose_ids}
    if by_day or exact:
        figures = {f"m{index}": Sum("change", filter=Q(day__lte=day), default=0) for index, day in by_day.items()}
        figures |= {f"m{index}": Sum("change", default=0) for index in exact}
        pending = {f"m{index}": Sum("change", filter=Q(day__lte=day), default=0) for index, day in by_day.items()}
        pending |= {f"m{index}": Sum("change", filter=Q(at__lte=moment), default=0)
                    for index, moment in exact.items()}
        latest = max([start_of(day + timedelta(days=1)) for day in by_day.values()] + list(exact.values()))
        for rows in (
            ConsentFigure.objects.filter(purpose_id__in=purpose_ids).values("purpose_id").annotate(**figures),
            ConsentFigureChange.objects.filter(purpose_id__in=purpose_ids, at__lte=latest)
            .values("purpose_id").annotate(**pending),
        ):
            for row in rows.order_by():
                for index in (*by_day, *exact):
                    counts[row["purpose_id"]][index] += row[f"m{index}"]
    if other:
        from_ledger = consents_in_force_per_purpose(purpose_ids, [moments[index] for index in other])
        for purpose_id, values in from_ledger.items():
            for index, value in zip(other, values, strict=True):
                counts[purpose_id][index] = value
    return {purpose_id: values for purpose_id, values in counts.items() if any(values)}


# --- folding, rebuilding, checking -----------------------------------------------------------------------


def qn(name: str) -> str:
    return connection.ops.quote_name(name)


def _add_figures(cursor, totals: dict[tuple[int, date], int]) -> None:
    """Add ``totals`` ((purpose id, day) → change) to the stored figures, creating the missing ones."""
    table = qn(ConsentFigure._meta.db_table)
    rows = [(purpose_id, connection.ops.adapt_datefield_value(day), n)
            for (purpose_id, day), n in sorted(totals.items()) if n]
    if rows:
        cursor.executemany(
            f"INSERT INTO {table} (purpose_id, day, {qn('change')}) VALUES (%s, %s, %s)"  # noqa: S608 (names are the model's)
            f" ON CONFLICT (purpose_id, day) DO UPDATE SET {qn('change')} = {table}.{qn('change')} + "
            f"EXCLUDED.{qn('change')}", rows)


@transaction.atomic
def figures_fold(*, now: datetime | None = None) -> int:
    """Fold the pending changes dated before today into their day's figures; how many were folded.

    The rows are taken with DELETE … RETURNING, so a change is folded once even if two folds overlap
    (the second finds the rows gone). Idempotent: a second run finds nothing more to fold.
    """
    before = start_of(timezone.localdate(now or timezone.now()))
    totals: dict[tuple[int, date], int] = defaultdict(int)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {qn(ConsentFigureChange._meta.db_table)} WHERE at < %s"  # noqa: S608
            f" RETURNING purpose_id, day, {qn('change')}", [connection.ops.adapt_datetimefield_value(before)])
        folded = 0
        for purpose_id, day, n in cursor.fetchall():
            if isinstance(day, str):  # SQLite answers a date as text
                day = date.fromisoformat(day)
            totals[(purpose_id, day)] += n
            folded += 1
        _add_figures(cursor, totals)
    return folded


def _ledger_changes_sql(consent_range: tuple[int, int] | None) -> tuple[str, list]:
    """SQL of the ledger's changes: (purpose_id, at, change ±1), for consents to ShipEx itself."""
    events, consents = qn(ConsentEvent._meta.db_table), qn(Consent._meta.db_table)
    where, params = "", []
    if consent_range is not None:
        where, params = " WHERE e.consent_id BETWEEN %s AND %s", list(consent_range)
    intervals_sql = (
        "SELECT c.purpose_id, i.occurred_at AS s,"  # noqa: S608 (names are the models', values parameters)
        " CASE WHEN i.next_at IS NULL THEN i.expires_at WHEN i.expires_at IS NULL THEN i.next_at"
        "      WHEN i.expires_at < i.next_at THEN i.expires_at ELSE i.next_at END AS e"
        " FROM (SELECT e.consent_id, e.kind, e.occurred_at, e.expires_at,"
        "              LEAD(e.occurred_at) OVER (PARTITION BY e.consent_id ORDER BY e.occurred_at, e.id) AS next_at"
        f"       FROM {events} e{where}) i"
        f" JOIN {consents} c ON c.id = i.consent_id"
        " WHERE i.kind = %s AND c.recipient_kind = %s"
    )
    params += [GRANT, ""]
    sql = (f"SELECT purpose_id, s AS at, 1 AS n FROM ({intervals_sql}) g WHERE g.e IS NULL OR g.e > g.s"  # noqa: S608
           f" UNION ALL SELECT purpose_id, e AS at, -1 AS n FROM ({intervals_sql}) g"
           " WHERE g.e IS NOT NULL AND g.e > g.s")
    return sql, params + params


def _local_day_sql(column: str) -> tuple[str, list]:
    return connection.ops.datetime_cast_date_sql(column, (), timezone.get_current_timezone_name())


def ledger_figures(*, consent_range: tuple[int, int] | None = None, before: datetime,
                   using: str = "default") -> dict[tuple[int, date], int]:
    """(purpose id, local day) → the day's change in force, from the ledger, for changes before ``before``."""
    changes, params = _ledger_changes_sql(consent_range)
    day, day_params = _local_day_sql("x.at")
    sql = (f"SELECT x.purpose_id, {day}, SUM(x.n) FROM ({changes}) x WHERE x.at < %s"  # noqa: S608
           " GROUP BY 1, 2")
    with connections[using].cursor() as cursor:
        cursor.execute(sql, [*day_params, *params, connection.ops.adapt_datetimefield_value(before)])
        return {(purpose_id, date.fromisoformat(found) if isinstance(found, str) else found): n
                for purpose_id, found, n in cursor.fetchall() if n}


@transaction.atomic
def fill_from_ledger(*, consent_range: tuple[int, int] | None = None, now: datetime | None = None) -> None:
    """Add the figures of the ledger's consents (those with ids in ``consent_range``, or all) in set-based
    SQL: the days before today summed into ``ConsentFigure``, today's and later changes kept pending.

    For a whole rebuild, delete both tables first; for consents whose ledger was written in bulk without
    the services (the benchmark's loader), pass their id range.
    """
    before = start_of(timezone.localdate(now or timezone.now()))
    changes, params = _ledger_changes_sql(consent_range)
    day, day_params = _local_day_sql("x.at")
    pending = qn(ConsentFigureChange._meta.db_table)
    with connection.cursor() as cursor:
        _add_figures(cursor, ledger_figures(consent_range=consent_range, before=before))
        cursor.execute(
            f"INSERT INTO {pending} (purpose_id, at, day, {qn('change')})"  # noqa: S608
            f" SELECT x.purpose_id, x.at, {day}, x.n FROM ({changes}) x WHERE x.at >= %s",
            [*day_params, *params, connection.ops.adapt_datetimefield_value(before)])


def figures_drift(using: str = "default") -> list[tuple[int, date, int, int]]:
    """(purpose id, day, from the ledger, stored) for every purpose and day whose stored figure
    (folded and pending together) is not what the ledger says; empty when they agree."""
    far = start_of(date(2100, 1, 1))
    expected = ledger_figures(before=far, using=using)
    stored: dict[tuple[int, date], int] = defaultdict(int)
    for model in (ConsentFigure, ConsentFigureChange):
        for purpose_id, day, n in (model.objects.using(using).values_list("purpose_id", "day")
                                   .annotate(n=Sum("change")).order_by()):
            stored[(purpose_id, day)] += n
    keys = sorted({key for key, n in expected.items() if n} | {key for key, n in stored.items() if n})
    return [(purpose_id, day, expected.get((purpose_id, day), 0), stored.get((purpose_id, day), 0))
            for purpose_id, day in keys if expected.get((purpose_id, day), 0) != stored.get((purpose_id, day), 0)]
