"""Tamper evidence for every append-only table: keyed row digests, sealed in a chain.

Design and its reasons: docs/audit.md. In short:

* Every row of an append-only table (history, m2m history, access log, any ``APPEND_ONLY``
  model) gets a :class:`RowDigest` — an HMAC-SHA256 of the row, keyed with
  ``settings.AUDIT_SEAL_KEY`` — written in the same transaction as the row. Each insert writes
  its own digest: no global chain, nothing that serialises concurrent requests.
* ``seal_audit`` (run every few minutes) seals the new digests in batches. A seal keeps a
  compressed manifest of the digests it covers and a MAC over that manifest and the previous
  seal's MAC, so a digest removed together with its row is still missed and named.
* ``verify_audit`` recomputes every row's MAC (a changed row, or one inserted without the key,
  does not match), looks for digests whose row is gone, and checks the seal chain. It reads each
  table and its digests as two streams in key order, a fetch at a time, and merges them, so
  memory stays flat however large the log grows (see _verify_table).

The MAC is computed from the row as read back from the database through the ORM, so that what
the code held in memory (a date given as a string, say) can never make an honest row look
tampered with. Verification reads the same values; on PostgreSQL it lets the database format
dates and times into the very text the encoding takes (see _FORMATTED).
"""

import dataclasses
import datetime
import functools
import hashlib
import hmac
import itertools
import json
import zlib
from collections.abc import Callable, Sequence
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass
from operator import itemgetter

from django.apps import apps as global_apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, models, router, transaction
from django.db.models import Func, Max, Q
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .history import is_append_only
from .models import AccessLogRetirement, AuditedTable, RowDigest, RowLayout, Seal

ROW_DOMAIN = b"shipex-audit/row/v1"
SEAL_DOMAIN = b"shipex-audit/seal/v1"


# --- keys and MACs -------------------------------------------------------------------------


def _key(purpose: bytes) -> bytes:
    secret = getattr(settings, "AUDIT_SEAL_KEY", "")
    if not secret:
        raise ImproperlyConfigured("AUDIT_SEAL_KEY is not set: history and access logs cannot be sealed or verified.")
    return _derived_key(secret, purpose)


@functools.lru_cache(maxsize=8)
def _derived_key(secret: str, purpose: bytes) -> bytes:
    # One sub-key per use, so that a row MAC can never pass for a seal MAC.
    return hmac.new(secret.encode(), purpose, hashlib.sha256).digest()


def _framed(part: bytes) -> bytes:
    return len(part).to_bytes(8, "big") + part


def _encode(value) -> bytes:
    """One value as bytes, the same way for the values the ORM gives back on write and on verify."""
    kind = type(value)
    if kind is str:  # the common case first: bulk digests encode hundreds of thousands of values
        return b"s" + value.encode()
    if value is None:
        return b"n"
    if kind is int:
        return b"i" + str(value).encode()
    if isinstance(value, bool):
        return b"b1" if value else b"b0"
    if isinstance(value, int):
        return b"i" + str(value).encode()
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(datetime.UTC)
        return b"t" + value.isoformat().encode()
    if isinstance(value, datetime.date | datetime.time):
        return b"d" + value.isoformat().encode()
    if isinstance(value, bytes | bytearray | memoryview):
        return b"x" + bytes(value)
    if isinstance(value, dict | list):
        return b"j" + json.dumps(value, sort_keys=True, default=str).encode()
    return b"s" + str(value).encode()


@functools.lru_cache(maxsize=1024)
def _framed_name(name: str) -> bytes:
    return _framed(name.encode())


def row_mac(*, table: str, row_id: int, columns: Sequence[str], values: Sequence) -> bytes:
    # One message and one C-level HMAC call: the same bytes as feeding the parts in one by one
    # (HMAC is a stream), at a fraction of the per-call cost the bulk path pays per row.
    parts = [ROW_DOMAIN, _framed_name(table), _framed(str(row_id).encode())]
    for column, value in zip(columns, values, strict=True):
        encoded = _encode(value)
        parts.append(_framed_name(column))
        parts.append(len(encoded).to_bytes(8, "big"))
        parts.append(encoded)
    return hmac.digest(_key(b"row"), b"".join(parts), "sha256")


def row_macs(*, table: str, columns: Sequence[str], rows: Sequence[tuple[int, Sequence]]) -> list[bytes]:
    """``row_mac`` of many rows of one table and layout: (row id, values) each, the same bytes per row.

    What every row shares (the key, the table's and the columns' framing) is prepared once, and text
    (most values) is encoded in the loop itself: the bulk path digests every row it writes.
    """
    key = _key(b"row")
    head = ROW_DOMAIN + _framed_name(table)
    names = [_framed_name(column) for column in columns]
    macs = []
    for row_id, values in rows:
        row_id_text = str(row_id).encode()
        parts = [head, len(row_id_text).to_bytes(8, "big"), row_id_text]
        for name, value in zip(names, values, strict=True):
            encoded = b"s" + value.encode() if type(value) is str else _encode(value)
            parts += (name, len(encoded).to_bytes(8, "big"), encoded)
        macs.append(hmac.digest(key, b"".join(parts), "sha256"))
    return macs


def seal_mac(*, previous_mac: str, first_digest_id: int, last_digest_id: int, digest_count: int,
             manifest: bytes) -> str:
    message = b"".join(
        _framed(part)
        for part in (
            SEAL_DOMAIN,
            previous_mac.encode(),
            str(first_digest_id).encode(),
            str(last_digest_id).encode(),
            str(digest_count).encode(),
            hashlib.sha256(manifest).digest(),
        )
    )
    return hmac.new(_key(b"seal"), message, hashlib.sha256).hexdigest()


# --- which tables ----------------------------------------------------------------------------


def is_evidence(model) -> bool:
    """The digest and seal tables themselves: append-only, but verified by the seals."""
    return getattr(model, "AUDIT_EVIDENCE", False)


def digested_models() -> list[type[models.Model]]:
    """Every append-only model whose rows carry digests, one per table."""
    found: dict[str, type[models.Model]] = {}
    for model in global_apps.get_models(include_auto_created=True):
        model = model._meta.concrete_model
        if is_append_only(model) and not is_evidence(model):
            found.setdefault(model._meta.db_table, model)
    return [found[table] for table in sorted(found)]


def _columns(model) -> list[tuple[str, str]]:
    """(column, attname) of every concrete field, sorted by column: a stable order for the MAC."""
    return sorted((field.column, field.attname) for field in model._meta.concrete_fields)


def _check_integer_pk(model, row_id) -> int:
    if not isinstance(row_id, int) or isinstance(row_id, bool):
        raise ImproperlyConfigured(
            f"{model._meta.label} is append-only but its primary key is not an integer; "
            "tamper evidence needs integer row ids."
        )
    return row_id


# --- small registries: table and layout ids, cached once committed ---------------------------

_table_ids: dict[tuple[str, str], int] = {}
_layout_ids: dict[tuple[str, int, str], int] = {}


def forget_cached_ids(**kwargs) -> None:
    """After a flush or migrate the ids may be gone; look them up again."""
    _table_ids.clear()
    _layout_ids.clear()


def _table_id(alias: str, name: str) -> int:
    key = (alias, name)
    if key not in _table_ids:
        table, _created = AuditedTable.objects.using(alias).get_or_create(name=name)
        # Cached only once committed: a rolled-back row must not leave a dangling id behind.
        transaction.on_commit(lambda: _table_ids.__setitem__(key, table.pk), using=alias)
        return table.pk
    return _table_ids[key]


def _layout_id(alias: str, table_id: int, columns: str) -> int:
    key = (alias, table_id, columns)
    if key not in _layout_ids:
        layout, _created = RowLayout.objects.using(alias).get_or_create(table_id=table_id, columns=columns)
        transaction.on_commit(lambda: _layout_ids.__setitem__(key, layout.pk), using=alias)
        return layout.pk
    return _layout_ids[key]


# --- writing digests ---------------------------------------------------------------------------


def _digest(alias: str, model, row_id: int, values_by_column: dict[str, object]) -> RowDigest:
    table = model._meta.db_table
    columns = sorted(values_by_column)
    table_id = _table_id(alias, table)
    return RowDigest(
        table_id=table_id,
        row_id=row_id,
        layout_id=_layout_id(alias, table_id, ",".join(columns)),
        mac=row_mac(table=table, row_id=row_id, columns=columns, values=[values_by_column[c] for c in columns]),
    )


def write_digest(*, model, row_id: int, using: str | None = None, partition: dict | None = None) -> RowDigest:
    """Digest one row just written; call inside the transaction that wrote it.

    ``partition`` ({field: value}) names the row's partition key, so that reading it back looks in
    one partition of a partitioned table (the access log, docs/access-log.md), not in all of them.
    """
    model = model._meta.concrete_model
    alias = using or router.db_for_write(model)
    row_id = _check_integer_pk(model, row_id)
    columns = _columns(model)
    values = (model._base_manager.using(alias).filter(pk=row_id, **(partition or {}))
              .values_list(*(a for _c, a in columns)).get())
    digest = _digest(alias, model, row_id, dict(zip((c for c, _a in columns), values, strict=True)))
    digest.save(using=alias)
    return digest


def digest_saved_row(sender, instance, created, using=None, **kwargs) -> None:
    """post_save: every new row of an append-only model gets its digest in the same transaction."""
    if not created or sender._meta.apps is not global_apps:
        return  # an update (the guards refuse it anyway), or a migration's historical model
    if is_append_only(sender) and not is_evidence(sender):
        key = getattr(sender, "PARTITION_KEY", None)
        write_digest(model=sender, row_id=instance.pk, using=using,
                     partition={key: getattr(instance, key)} if key else None)


def digest_m2m_history_rows(sender, created_rows, **kwargs) -> None:
    """simple-history writes m2m history rows with bulk_create, which sends no post_save."""
    for row in created_rows:
        if row.pk is None:
            raise ImproperlyConfigured(f"{sender._meta.label}: bulk_create returned no ids; rows cannot be digested.")
        write_digest(model=sender, row_id=row.pk, using=row._state.db)


# --- rows written by migrations ------------------------------------------------------------------
# Data migrations write history with the migration state's models, which send no signals we
# can use (the tables may not even have their final columns yet). Rows a `migrate` run writes
# are digested at its end: only rows newer than what the table held when the run started, so
# a row slipped in before a deploy is not laundered by it. The very first run that creates the
# digest table adopts every row already there (docs/audit.md, "switching it on").

_rows_before_migrate: dict[str, dict[str, int]] = {}


def _existing_tables(alias: str) -> set[str]:
    return set(connections[alias].introspection.table_names())


def remember_rows_before_migrate(sender, using, **kwargs) -> None:
    tables = _existing_tables(using)
    if RowDigest._meta.db_table not in tables:
        _rows_before_migrate[using] = {}  # tamper evidence is switched on by this run
        return
    _rows_before_migrate[using] = {
        model._meta.db_table: model._base_manager.using(using).aggregate(top=Max("pk"))["top"] or 0
        for model in digested_models()
        if model._meta.db_table in tables
    }


def digest_rows_written_by_migrate(sender, using, **kwargs) -> None:
    before = _rows_before_migrate.pop(using, None)
    forget_cached_ids()
    if before is None:
        return  # not a migrate run (e.g. the test runner's flush): nothing to adopt
    tables = _existing_tables(using)
    for model in digested_models():
        if model._meta.db_table in tables:
            digest_missing_rows(model=model, using=using, after_id=before.get(model._meta.db_table, 0))


def digest_missing_rows(*, model, using: str, after_id: int = 0, batch_size: int = 2000) -> int:
    """Digest rows with id > ``after_id`` that have none. Only for rows written by migrations."""
    columns = _columns(model)
    table = model._meta.db_table
    written = 0
    last = after_id
    while True:
        with transaction.atomic(using=using):
            rows = list(
                model._base_manager.using(using).filter(pk__gt=last).order_by("pk")
                .values_list("pk", *(a for _c, a in columns))[:batch_size]
            )
            if not rows:
                return written
            last = rows[-1][0]
            table_id = _table_id(using, table)
            have = set(
                RowDigest.objects.using(using)
                .filter(table_id=table_id, row_id__gte=rows[0][0], row_id__lte=last)
                .values_list("row_id", flat=True)
            )
            new = [
                _digest(using, model, _check_integer_pk(model, pk), dict(zip((c for c, _a in columns), values,
                                                                             strict=True)))
                for pk, *values in rows
                if pk not in have
            ]
            # The digest table is not a tracked model: bulk_create writes no history around it.
            RowDigest.objects.using(using).bulk_create(new)
            written += len(new)


# --- sealing -----------------------------------------------------------------------------------------


def _encode_manifest(entries: Sequence[tuple[int, str, int]]) -> bytes:
    """(digest id, table, row id) per digest, delta-encoded and compressed: a few bytes each."""
    tables = sorted({table for _d, table, _r in entries})
    index = {table: position for position, table in enumerate(tables)}
    lines = [json.dumps(tables)]
    previous_digest, previous_row = 0, dict.fromkeys(tables, 0)
    for digest_id, table, row_id in entries:
        lines.append(f"{digest_id - previous_digest} {index[table]} {row_id - previous_row[table]}")
        previous_digest, previous_row[table] = digest_id, row_id
    return zlib.compress("\n".join(lines).encode(), 6)


def decode_manifest(manifest: bytes) -> list[tuple[int, str, int]]:
    header, _newline, body = zlib.decompress(bytes(manifest)).decode().partition("\n")
    tables = json.loads(header)
    numbers = list(map(int, body.split()))  # three per entry: digest delta, table, row delta
    positions = numbers[1::3]
    previous_row = [0] * len(tables)
    row_ids = []
    for position, row_delta in zip(positions, numbers[2::3], strict=True):
        previous_row[position] += row_delta
        row_ids.append(previous_row[position])
    return [(digest_id, tables[position], row_id) for digest_id, position, row_id
            in zip(itertools.accumulate(numbers[0::3]), positions, row_ids, strict=True)]


def _table_names(alias: str) -> dict[int, str]:
    return dict(AuditedTable.objects.using(alias).values_list("pk", "name"))


@transaction.atomic
def seal_next(*, using: str = "default", batch_size: int = 10_000, settled_before: datetime.datetime) -> Seal | None:
    """Seal the next batch of digests written before ``settled_before``; None when there is none.

    Only settled digests are sealed, so that a transaction still open (holding a lower id) is
    not skipped over by the seal; see docs/audit.md.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    with transaction.atomic(using=using):
        head = Seal.objects.using(using).order_by("-id").first()
        first = head.last_digest_id + 1 if head else 1
        candidates = list(
            RowDigest.objects.using(using).filter(pk__gte=first).order_by("pk")
            .values_list("pk", "table_id", "row_id", "created_at")[:batch_size]
        )
        settled = []
        for digest_id, table_id, row_id, created_at in candidates:
            if created_at >= settled_before:
                break
            settled.append((digest_id, table_id, row_id))
        if not settled:
            return None
        names = _table_names(using)
        manifest = _encode_manifest([(digest_id, names[table_id], row_id) for digest_id, table_id, row_id in settled])
        previous_mac = head.mac if head else ""
        last = settled[-1][0]
        seal = Seal(
            first_digest_id=first,
            last_digest_id=last,
            digest_count=len(settled),
            manifest=manifest,
            previous_mac=previous_mac,
            mac=seal_mac(previous_mac=previous_mac, first_digest_id=first, last_digest_id=last,
                         digest_count=len(settled), manifest=manifest),
        )
        seal.save(using=using)
        return seal


# --- verification ----------------------------------------------------------------------------------


# progress(table, rows or seals checked so far, whether that table is done)
Progress = Callable[[str, int, bool], None]


@dataclass(frozen=True)
class Finding:
    table: str
    row_id: int
    problem: str

    def __str__(self) -> str:
        return f"{self.table} id={self.row_id}: {self.problem}"


CHANGED = _("changed: the row no longer matches its digest")
INSERTED = _("inserted behind the application's back: the row has no digest")
DIGEST_REMOVED = _("its digest was removed (the row was sealed with one)")
REMOVED = _("removed: its digest is still there")
REMOVED_WITH_DIGEST = _("removed together with its digest (named by seal #%(seal)s)")
COLUMN_GONE = _("cannot be verified: column %(column)s no longer exists")
SEAL_CHANGED = _("seal changed or forged: its MAC does not match")
SEAL_CHAIN_BROKEN = _("seal chain broken: a seal before this one was removed or changed")
SEAL_RANGE_GAP = _("seal chain broken: digests %(first)s–%(last)s are not covered by any seal")
RETIREMENT_CHANGED = _("retirement seal changed or forged: its MAC does not match")


@dataclass
class VerifyReport:
    findings: list[Finding]
    rows_checked: int = 0
    seals_checked: int = 0
    unsealed_digests: int = 0
    late_digests: int = 0
    head_mac: str = ""
    # Rows a retirement seal names (a month of the access log retired as a whole), and those seals.
    retired_rows: int = 0
    retired: list[str] = dataclasses.field(default_factory=list)


# Sent with ``report=`` (a VerifyReport with findings) by whatever ran a verification that failed
# (verify_audit, the scheduled job): the notifications app mails the auditors at once.
verification_failed = Signal()


@contextmanager
def _one_snapshot(alias: str):
    """Reads inside see one snapshot, so a row and its digest committed meanwhile never disagree."""
    connection = connections[alias]
    if connection.in_atomic_block:
        yield  # the caller's transaction already gives one (tests, or a wrapping atomic block)
        return
    with transaction.atomic(using=alias):
        if connection.vendor == "postgresql":
            # Safe: a fixed statement, no parameters, setting the isolation of this read-only transaction.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        # SQLite: a read transaction keeps its snapshot until it ends.
        yield


def _model_for_table(table: str):
    for model in digested_models():
        if model._meta.db_table == table:
            return model
    return None


def _verify_seals(alias: str, report: VerifyReport, sealed_missing: dict[tuple[str, int], Finding],
                  progress: "Progress", retired=None) -> None:
    names = _table_names(alias)
    previous_mac, expected_first, last_id = "", None, 0
    while True:
        seals = list(Seal.objects.using(alias).filter(pk__gt=last_id).order_by("pk")[:50])
        if not seals:
            break
        for seal in seals:
            last_id = seal.pk
            report.seals_checked += 1
            manifest = bytes(seal.manifest)
            expected = seal_mac(previous_mac=seal.previous_mac, first_digest_id=seal.first_digest_id,
                                last_digest_id=seal.last_digest_id, digest_count=seal.digest_count, manifest=manifest)
            if not hmac.compare_digest(expected, seal.mac):
                report.findings.append(Finding(Seal._meta.db_table, seal.pk, str(SEAL_CHANGED)))
            elif seal.previous_mac != previous_mac:
                report.findings.append(Finding(Seal._meta.db_table, seal.pk, str(SEAL_CHAIN_BROKEN)))
            elif expected_first is not None and seal.first_digest_id != expected_first:
                report.findings.append(Finding(Seal._meta.db_table, seal.pk, str(SEAL_RANGE_GAP % {
                    "first": expected_first, "last": seal.first_digest_id - 1})))
            previous_mac, expected_first = seal.mac, seal.last_digest_id + 1
            report.head_mac = seal.mac
            if seal.mac != expected:
                continue  # a forged manifest names nothing reliable
            _verify_sealed_digests(alias, seal, manifest, names, report, sealed_missing, retired)
        progress(Seal._meta.db_table, report.seals_checked, False)
    progress(Seal._meta.db_table, report.seals_checked, True)
    report.unsealed_digests = RowDigest.objects.using(alias).filter(pk__gte=expected_first or 0).count()


def _verify_sealed_digests(alias, seal, manifest, names, report, sealed_missing, retired=None) -> None:
    with _one_snapshot(alias):
        digests = list(RowDigest.objects.using(alias).filter(pk__gte=seal.first_digest_id, pk__lte=seal.last_digest_id)
                       .order_by("pk").values_list("pk", "table_id", "row_id"))
        sealed = decode_manifest(manifest)
        if len(digests) == len(sealed) and [(digest_id, names.get(table_id), row_id) for digest_id, table_id, row_id
                                            in digests] == sealed:
            return  # the usual case: exactly the digests sealed, in the same order
        current = {digest_id: (names.get(table_id, f"#{table_id}"), row_id) for digest_id, table_id, row_id in digests}
        sealed_ids = set()
        for digest_id, table, row_id in sealed:
            sealed_ids.add(digest_id)
            if current.get(digest_id) == (table, row_id):
                continue
            if retired is not None and digest_id not in current and retired.covers(table, digest_id, row_id):
                continue  # retired with its month, as a retirement seal records (audit/partitions.py)
            model = _model_for_table(table)
            row_exists = model is not None and model._base_manager.using(alias).filter(pk=row_id).exists()
            problem = DIGEST_REMOVED if row_exists else REMOVED_WITH_DIGEST % {"seal": seal.pk}
            sealed_missing[(table, row_id)] = Finding(table, row_id, str(problem))
    # Digests in the range that the seal does not list were committed after it was sealed; their
    # own MACs are still checked row by row.
    report.late_digests += len(set(current) - sealed_ids)


# Rows are checked a key range at a time, ``snapshot_rows`` rows to a snapshot (so that no
# transaction stays open for the whole of a large table, while the many small tables share one).
# Inside a range, the rows and their digests are two streams in key order, read through
# server-side cursors ``batch_size`` rows per fetch and walked side by side like a merge join:
# memory holds a fetch of each, never a table. The MACs of a fetch are computed together, column
# by column, with everything that is the same for every row (the key, the table's and columns'
# framed names) prepared once per layout.
SNAPSHOT_ROWS = 100_000


class _Snapshots:
    """Snapshots of ``rows_each`` rows, each open until that many rows were read in it, whatever
    the tables: most audited tables hold a few rows, and a snapshot each cost them three statements."""

    def __init__(self, alias: str, rows_each: int):
        self.alias, self.rows_each = alias, rows_each
        self._open: ExitStack | None = None
        self._left = 0

    def rows_left(self) -> int:
        """How many rows the current snapshot may still read; opens one if none is open."""
        if self._open is None:
            self._open = ExitStack()
            self._open.enter_context(_one_snapshot(self.alias))
            self._left = self.rows_each
        return self._left

    def spent(self, rows: int) -> None:
        self._left -= rows
        if self._left <= 0:
            self.close()

    def close(self, *exc_info) -> None:
        if self._open is not None:
            stack, self._open = self._open, None
            stack.__exit__(*(exc_info or (None, None, None)))

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close(*exc_info)


class _Frames(dict):
    """``frames[n]``: what goes before an encoded value of n bytes — a column's framed name, the
    value's 8-byte length and, for ``kind`` b"s", the kind byte (n then counts the str's bytes) —
    prepared once for the lengths met (the short ones kept)."""

    def __init__(self, head: bytes, kind: bytes = b""):
        super().__init__()
        self.head, self.kind = head, kind

    def __missing__(self, length: int) -> bytes:
        frame = self.head + (length + len(self.kind)).to_bytes(8, "big") + self.kind
        if length < 4096:
            self[length] = frame
        return frame


def _encode_not_str(value) -> bytes:
    """``_encode`` for a value that is neither a str, None nor an int: the common kinds, byte for byte, first."""
    kind = type(value)
    if kind is datetime.datetime and value.tzinfo is datetime.UTC:
        return b"t" + value.isoformat().encode()
    if kind is datetime.date:
        return b"d" + value.isoformat().encode()
    return _encode(value)


def _hmac_pads(key: bytes):
    """HMAC-SHA256 (RFC 2104) keyed once: the inner and outer hashes with the padded key absorbed.

    Copying both and hashing a message gives ``hmac.digest(key, message, "sha256")``, without
    setting the key up again for every row (most of a short message's HMAC cost).
    """
    block = hashlib.sha256().block_size
    if len(key) > block:
        key = hashlib.sha256(key).digest()
    key = key.ljust(block, b"\0")
    return hashlib.sha256(bytes(b ^ 0x36 for b in key)), hashlib.sha256(bytes(b ^ 0x5C for b in key))


# Value kinds whose equal values always encode the same (not so 1.0 and 1, or two equal Decimals):
# a column of one of them may be framed once per distinct value.
_FRAMED_ONCE_KINDS = ({str, type(None)}, {int, type(None)}, {bool, type(None)})


def _layout_macs(table: str, layout: list[str], positions: dict[str, int],
                 formatted: dict[str, bytes]) -> Callable[[list], list[bytes]]:
    """``macs(rows)``: ``row_mac`` of each row ``(pk, *values)`` over the layout's columns, for many rows.

    ``formatted`` names the columns the database gave as text already encoded, with their kind
    byte (see _FORMATTED). A fetch's values are framed column by column, in C wherever the column
    allows it (``map`` over the column, no Python step per value): a column that repeats a few
    values (a username, a change reason, a status) frames each once and looks the rest up; a
    column of str or int alone is encoded and measured in bulk; only other columns take the
    value-by-value way. All three give the bytes ``row_mac`` frames.
    """
    inner, outer = _hmac_pads(_key(b"row"))
    pk_frames = _Frames(ROW_DOMAIN + _framed_name(table))
    # Per column: the frames of its str values, of its other values, and its whole frame for None.
    picks = [(positions[column], _Frames(_framed_name(column), formatted.get(column, b"s")),
              _Frames(_framed_name(column)), _framed_name(column) + _framed(b"n")) for column in layout]
    other = _encode_not_str

    def one_by_one(values, str_frames: _Frames, frames: _Frames, none: bytes) -> list[bytes]:
        return [
            str_frames[len(encoded := value.encode())] + encoded if type(value) is str
            else none if value is None
            else frames[len(encoded := b"i%d" % value)] + encoded if type(value) is int
            else frames[len(encoded := other(value))] + encoded
            for value in values
        ]

    def column_parts(values, str_frames: _Frames, frames: _Frames, none: bytes) -> list[list[bytes]]:
        """One column's frames, as lists of parts that joined row by row give each value's frame."""
        kinds = set(map(type, values))
        if any(kinds <= once for once in _FRAMED_ONCE_KINDS):
            distinct = list(set(values))
            if len(distinct) * 2 <= len(values):
                frame_of = dict(zip(distinct, one_by_one(distinct, str_frames, frames, none), strict=True))
                return [list(map(frame_of.__getitem__, values))]
            if kinds == {str}:
                encoded = list(map(str.encode, values))
                return [list(map(str_frames.__getitem__, map(len, encoded))), encoded]
            if kinds == {int}:
                encoded = list(map(b"i%d".__mod__, values))
                return [list(map(frames.__getitem__, map(len, encoded))), encoded]
        return [one_by_one(values, str_frames, frames, none)]

    def macs(rows: list) -> list[bytes]:
        columns = list(zip(*rows, strict=True))
        if set(map(type, columns[0])) == {int}:
            keys = list(map(b"%d".__mod__, columns[0]))
        else:
            keys = [str(value).encode() for value in columns[0]]
        parts = [list(map(pk_frames.__getitem__, map(len, keys))), keys]
        for position, str_frames, frames, none in picks:
            parts += column_parts(columns[position], str_frames, frames, none)
        new_inner, new_outer, found = inner.copy, outer.copy, []
        for message in map(b"".join, zip(*parts, strict=True)):
            hashed = new_inner()
            hashed.update(message)
            mac = new_outer()
            mac.update(hashed.digest())
            found.append(mac.digest())
        return found

    return macs


@dataclass
class _LayoutCheck:
    gone: list[str]  # columns the layout names that the table no longer has
    macs: Callable[[list], list[bytes]] | None  # None: the layout verifies nothing


_NO_LAYOUT = _LayoutCheck([], None)  # a digest whose layout is not there


def _layouts_by_table(alias: str, table_id=None) -> dict[int, list[tuple[int, str]]]:
    """{table id: [(layout id, columns)…]}, of every table (one query) or of ``table_id``."""
    layouts = RowLayout.objects.using(alias).order_by("pk")
    if table_id is not None:
        layouts = layouts.filter(table_id=table_id)
    found: dict[int, list[tuple[int, str]]] = {}
    for table, pk, columns in layouts.values_list("table_id", "pk", "columns"):
        found.setdefault(table, []).append((pk, columns))
    return found


def _layout_checks(table: str, layouts: list[tuple[int, str]], positions: dict[str, int],
                   formatted: dict[str, bytes]) -> dict[int, _LayoutCheck]:
    checks = {}
    for pk, text in layouts:
        columns = text.split(",")
        gone = [column for column in columns if column not in positions]
        checks[pk] = _LayoutCheck(gone, None if gone else _layout_macs(table, columns, positions, formatted))
    return checks


class _UtcIsoformat(Func):
    """An aware timestamp as text: exactly ``value.astimezone(UTC).isoformat()`` (no fraction when it is 0)."""

    output_field = models.TextField()
    template = (
        "to_char(%(expressions)s AT TIME ZONE 'UTC', "
        "CASE WHEN date_trunc('second', %(expressions)s) = %(expressions)s "
        "THEN 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"' ELSE 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"' END)"
    )


class _Isoformat(Func):
    """A date as text: exactly ``value.isoformat()``."""

    output_field = models.TextField()
    template = "to_char(%(expressions)s, 'YYYY-MM-DD')"


# On PostgreSQL the database formats dates and aware timestamps into the text _encode makes of
# them (kind byte, then ISO 8601 in UTC): parsing them into Python objects and formatting them
# again was most of a verify's time. tests/audit/test_verify_stream.py holds the two to the same
# bytes, edge values included. SQLite, and naive times, read values as the ORM gives them.
_FORMATTED = {"DateTimeField": (b"t", _UtcIsoformat), "DateField": (b"d", _Isoformat)}
_FORMATTED_DB_TYPES = {"DateTimeField": "timestamp with time zone", "DateField": "date"}


def _formatted_columns(model, connection) -> dict[str, tuple[str, bytes, type[Func]]]:
    """{column: (attname, kind byte, formatting expression)} of the columns the database can format."""
    if connection.vendor != "postgresql" or connection.timezone is None:
        return {}
    found = {}
    for field in model._meta.concrete_fields:
        kind = field.get_internal_type()
        if (kind in _FORMATTED and not hasattr(field, "from_db_value")
                and field.db_type(connection) == _FORMATTED_DB_TYPES[kind]):
            found[field.column] = (field.attname, *_FORMATTED[kind])
    return found


def _fetches(queryset, batch_size: int):
    """The rows of a ``values_list`` queryset, a list of ``batch_size`` tuples at a time, in its order.

    A server-side cursor on PostgreSQL (a client-side one, fetching the whole range, if
    DISABLE_SERVER_SIDE_CURSORS is set); on SQLite rows are stepped through as fetched. Django's
    converters are applied as the ORM applies them, so values are what ``values_list`` gives.
    """
    compiler = queryset.query.get_compiler(using=queryset.db)
    sql, params = compiler.as_sql()
    if [alias for _expression, _sql, alias in compiler.select] != list(queryset._fields):
        raise ImproperlyConfigured(f"{queryset.model._meta.label}: the columns are not read in the order asked for.")
    converters = compiler.get_converters([expression for expression, _sql, _alias in compiler.select])
    connection = compiler.connection
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(batch_size):
            yield list(compiler.apply_converters(rows, converters)) if converters else rows
            if len(rows) < batch_size:
                break  # the last fetch: asking again would only cost another round trip


# A row is (pk, *values), a digest (row id, layout id, MAC): read a fetch's in C, not row by row.
_key_of, _layout_of, _mac_of = itemgetter(0), itemgetter(1), itemgetter(2)


def _no_fetches():
    yield from ()


class _DigestStream:
    """(row id, layout id, MAC) of a table's digests in row-id order, a fetch at a time."""

    def __init__(self, fetches):
        self._fetches = fetches
        self.buffer: list = []
        self.at = 0

    def ahead(self, count: int) -> list:
        """The next ``count`` digests (fewer at the end), not consumed."""
        while len(self.buffer) - self.at < count:
            more = next(self._fetches, None)
            if more is None:
                break
            self.buffer, self.at = self.buffer[self.at:] + list(more), 0
        return self.buffer[self.at:self.at + count]

    def peek(self):
        if self.at == len(self.buffer) and not self.ahead(1):
            return None
        return self.buffer[self.at]


def _tables_holding_rows(alias: str, tables: list[str]) -> set[str]:
    """Which of ``tables`` hold at least one row: one statement, whatever their number."""
    if not tables:
        return set()
    connection = connections[alias]
    # Table names come from the models; each EXISTS stops at the first row.
    sql = " UNION ALL ".join(f"SELECT %s WHERE EXISTS (SELECT 1 FROM {connection.ops.quote_name(table)})"  # noqa: S608
                             for table in tables)
    with connection.cursor() as cursor:
        cursor.execute(sql, tables)
        return {row[0] for row in cursor.fetchall()}


def _verify_table(model, alias: str, batch_size: int, report: VerifyReport,
                  sealed_missing: dict[tuple[str, int], Finding], progress: "Progress",
                  snapshots: _Snapshots, table_id: int | None, layouts: list[tuple[int, str]]) -> None:
    table = model._meta.db_table
    formatted = _formatted_columns(model, connections[alias])
    # Rows are read as (pk, *values): the values as the ORM gives them, or formatted by the database.
    select, annotations = ["pk"], {}
    for column, attname in _columns(model):
        if column in formatted:
            _attname, _kind, expression = formatted[column]
            select.append(f"verify_formatted_{len(annotations):03d}")
            annotations[select[-1]] = expression(attname)
        else:
            select.append(attname)
    positions = {column: index for index, (column, _attname) in enumerate(_columns(model), start=1)}
    checker = _TableCheck(table, alias, table_id, positions, {column: kind for column, (_a, kind, _e) in
                                                             formatted.items()}, report.findings, sealed_missing,
                          layouts)
    rows = model._base_manager.using(alias).order_by("pk").annotate(**annotations)
    digests = RowDigest.objects.using(alias).filter(table_id=table_id).order_by("row_id")
    last = None
    while True:
        # A range is what is left of the snapshot's rows; its end is its last row, so that the
        # digests past it are left for the next range (or, at the table's end, met as removed).
        limit = snapshots.rows_left()
        in_range, its_digests = (rows, digests) if last is None else (rows.filter(pk__gt=last),
                                                                     digests.filter(row_id__gt=last))
        # A table never digested has no digest to read: each of its rows is one nobody recorded.
        with closing(_fetches(in_range.values_list(*select)[:limit], batch_size)) as row_fetches, \
                closing(_no_fetches() if table_id is None else
                        _fetches(its_digests.values_list("row_id", "layout_id", "mac"), batch_size)) as digest_fetches:
            read, last = checker.check(row_fetches, _DigestStream(digest_fetches), to_the_end=limit)
        snapshots.spent(read)
        if read < limit:
            break
        progress(table, checker.rows_seen, False)
    report.rows_checked += checker.rows_seen
    progress(table, checker.rows_seen, True)


class _TableCheck:
    """One table's rows against its digests: the findings of a merge of the two streams."""

    def __init__(self, table, alias, table_id, positions, formatted, findings, sealed_missing, layouts):
        self.table, self.alias, self.table_id, self.positions = table, alias, table_id, positions
        self.formatted, self.findings, self.sealed_missing = formatted, findings, sealed_missing
        self.checks = _layout_checks(table, layouts, positions, formatted)
        self.rows_seen = 0

    def _load_checks(self) -> dict[int, _LayoutCheck]:
        if self.table_id is None:
            return {}  # no digest, so no layout either
        layouts = _layouts_by_table(self.alias, self.table_id).get(self.table_id, [])
        return _layout_checks(self.table, layouts, self.positions, self.formatted)

    def check(self, row_fetches, digests: _DigestStream, to_the_end: int) -> tuple[int, int | None]:
        """Check a range of rows; (rows read, last row id). Fewer than ``to_the_end`` rows read: the
        table ends there, and each digest left over has lost its row."""
        read, last = 0, None
        for rows in row_fetches:
            read += len(rows)
            last = rows[-1][0]
            ahead = digests.ahead(len(rows))
            if list(map(_key_of, rows)) == list(map(_key_of, ahead)):
                digests.at += len(rows)  # the usual case: each row has its digest, and no other is between
                self._compare(rows, ahead)
            else:
                self._compare(*self._merge(rows, digests))
        self.rows_seen += read
        if read < to_the_end:
            while (digest := digests.peek()) is not None:
                self._removed(digest)
                digests.at += 1
        return read, last

    def _removed(self, digest) -> None:
        self.findings.append(Finding(self.table, digest[0], str(REMOVED)))

    def _merge(self, rows, digests: _DigestStream) -> tuple[list, list]:
        """Pair rows with their digests one by one; name rows without one and digests without a row."""
        paired_rows, paired_digests = [], []
        for row in rows:
            pk = row[0]
            digest = digests.peek()
            while digest is not None and digest[0] < pk:
                self._removed(digest)
                digests.at += 1
                digest = digests.peek()
            if digest is not None and digest[0] == pk:
                paired_rows.append(row)
                paired_digests.append(digest)
                digests.at += 1
            else:
                self.findings.append(self.sealed_missing.pop((self.table, pk), None)
                                     or Finding(self.table, pk, str(INSERTED)))
        return paired_rows, paired_digests

    def _compare(self, rows: list, digests: list) -> None:
        """Each row's MAC, computed over its digest's layout, against the digest's."""
        layout_ids = list(map(_layout_of, digests))
        by_layout: dict[int, list[int]] = {}
        if len(set(layout_ids)) == 1:
            by_layout[layout_ids[0]] = range(len(rows))  # the usual case: one layout for the whole fetch
        else:
            for index, layout_id in enumerate(layout_ids):
                by_layout.setdefault(layout_id, []).append(index)
        for layout_id, indexes in by_layout.items():
            check = self.checks.get(layout_id)
            if check is None:
                self.checks = self._load_checks()  # a migration may have added a layout meanwhile
                check = self.checks.get(layout_id, _NO_LAYOUT)
            if check.gone:
                problem = str(COLUMN_GONE % {"column": ", ".join(check.gone)})
                self.findings.extend(Finding(self.table, rows[index][0], problem) for index in indexes)
                continue
            if check.macs is None:
                self.findings.extend(Finding(self.table, rows[index][0], str(CHANGED)) for index in indexes)
                continue
            whole = len(indexes) == len(rows)
            group, stored = (rows, digests) if whole else ([rows[i] for i in indexes], [digests[i] for i in indexes])
            matches = list(map(hmac.compare_digest, check.macs(group), map(_mac_of, stored)))
            if not all(matches):
                self.findings.extend(Finding(self.table, rows[index][0], str(CHANGED))
                                     for index, match in zip(indexes, matches, strict=True) if not match)


# --- records that must agree with their history, or with a ledger ----------------------------
# A frozen record (core/freeze.py: FROZEN_ONCE_SET, FROZEN_WITH) can no longer change through the
# application, so it must equal its latest history row, which the digests above prove; and a
# record whose history shows it frozen must still be there. Apps add checks of their own (a
# state kept beside a ledger must equal the ledger) in an ``integrity`` module that calls
# ``register_record_check``; verify finds those modules the way the admin finds ``admin`` modules.

FROZEN_NO_HISTORY = _("frozen record without history: written behind the application's back")
FROZEN_REMOVED = _("frozen record removed: its history shows it frozen and not deleted")
FROZEN_CHANGED = _("frozen record changed: %(columns)s differ from its history")
FROZEN_M2M_CHANGED = _("%(field)s of frozen record changed behind the application's back: %(change)s")

RecordCheck = Callable[[str], list[Finding]]
_record_checks: dict[str, RecordCheck] = {}


def register_record_check(check: RecordCheck) -> RecordCheck:
    """Register ``check(using) -> [Finding]``, run by verify_audit (decorator)."""
    _record_checks[f"{check.__module__}.{check.__qualname__}"] = check
    return check


def _history_model(model):
    manager = getattr(model._meta, "simple_history_manager_attribute", None)
    return getattr(model, manager).model if manager else None


def _latest_history(history, pk_name: str, ids, attnames, using) -> dict:
    """{record id: (history id, history type, values)} of each record's latest history row."""
    latest = {}
    ids = sorted(ids)
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        last_ids = (history._base_manager.using(using).filter(**{f"{pk_name}__in": chunk})
                    .values(pk_name).annotate(last=Max("history_id")).values_list("last", flat=True))
        for row in history._base_manager.using(using).filter(history_id__in=list(last_ids)).values_list(
                pk_name, "history_id", "history_type", *attnames):
            latest[row[0]] = (row[1], row[2], row[3:])
    return latest


def _rows_against_history(model, using, current: dict, ever_ids: set) -> list[Finding]:
    """Compare rows ``current`` ({id: values}) and the ids history says belong, with the history."""
    history = _history_model(model)
    pk_name = model._meta.pk.attname
    attnames = [f.attname for f in model._meta.concrete_fields]
    latest = _latest_history(history, pk_name, set(current) | ever_ids, attnames, using)
    findings = []
    table = model._meta.db_table
    for record_id in sorted(set(current) | ever_ids):
        row, last = current.get(record_id), latest.get(record_id)
        if row is not None and last is None:
            findings.append(Finding(table, record_id, str(FROZEN_NO_HISTORY)))
        elif row is None and last is not None and last[1] != "-":
            findings.append(Finding(table, record_id, str(FROZEN_REMOVED)))
        elif row is not None:
            changed = [name for name, now, then in zip(attnames, row, last[2], strict=True) if now != then]
            if changed or last[1] == "-":
                findings.append(Finding(table, record_id, str(FROZEN_CHANGED % {
                    "columns": ", ".join(changed) or pk_name})))
    return findings


def _rows_by_pk(model, queryset, attnames) -> dict:
    """{id: every concrete value, in ``attnames`` order} — the shape _rows_against_history compares."""
    position = attnames.index(model._meta.pk.attname)
    return {row[position]: tuple(row) for row in queryset.values_list(*attnames)}


def frozen_record_findings(using: str) -> list[Finding]:
    """Every frozen record, and each part frozen with it, against its history."""
    from shipex_privacy.core.freeze import frozen_models

    findings = []
    for model in frozen_models(connections[using]):
        history = _history_model(model)
        if history is None:
            continue
        column = model._meta.get_field(model.FROZEN_ONCE_SET).attname
        attnames = [f.attname for f in model._meta.concrete_fields]
        ever = set(history._base_manager.using(using).filter(**{f"{column}__isnull": False})
                   .values_list(model._meta.pk.attname, flat=True))
        # Rows frozen now, and rows history shows frozen (one unfrozen behind the back is "changed").
        current = _rows_by_pk(model, model._base_manager.using(using).filter(
            Q(**{f"{column}__isnull": False}) | Q(pk__in=ever)), attnames)
        findings += _rows_against_history(model, using, current, ever)
        frozen_ids = set(current) | ever
        latest = _latest_history(history, model._meta.pk.attname, frozen_ids, [], using)
        for name in getattr(model, "FROZEN_WITH", {}):
            field = model._meta.get_field(name)
            if isinstance(field, models.ManyToManyField):
                findings += _m2m_against_history(model, field, using, frozen_ids, latest)
            elif _history_model(field.related_model) is not None:
                part, fk = field.related_model, field.field.attname
                part_attnames = [f.attname for f in part._meta.concrete_fields]
                part_ever = set(_history_model(part)._base_manager.using(using).filter(**{f"{fk}__in": frozen_ids})
                                .values_list(part._meta.pk.attname, flat=True))
                rows = _rows_by_pk(part, part._base_manager.using(using).filter(
                    Q(**{f"{fk}__in": frozen_ids}) | Q(pk__in=part_ever)), part_attnames)
                findings += _rows_against_history(part, using, rows, part_ever)
    return findings


def _m2m_against_history(model, field, using, frozen_ids, latest) -> list[Finding]:
    """The through rows of each frozen record against the m2m history of its latest history row."""
    from simple_history.models import HistoricalRecords

    m2m_history = HistoricalRecords.m2m_models.get(field)
    if m2m_history is None:
        return []
    through = field.remote_field.through
    source, target = field.m2m_field_name(), field.m2m_reverse_field_name()
    now: dict[int, set] = {}
    for record_id, target_id in through._base_manager.using(using).filter(
            **{f"{source}_id__in": frozen_ids}).values_list(f"{source}_id", f"{target}_id"):
        now.setdefault(record_id, set()).add(target_id)
    by_history = {history_id: record_id for record_id, (history_id, _type, _values) in latest.items()}
    then: dict[int, set] = {}
    for history_id, target_id in m2m_history._base_manager.using(using).filter(
            history_id__in=list(by_history)).values_list("history_id", f"{target}_id"):
        then.setdefault(by_history[history_id], set()).add(target_id)
    findings = []
    for record_id in sorted(frozen_ids):
        added, removed = now.get(record_id, set()) - then.get(record_id, set()), \
            then.get(record_id, set()) - now.get(record_id, set())
        if added or removed:
            change = ", ".join([*(f"+{t}" for t in sorted(added)), *(f"-{t}" for t in sorted(removed))])
            findings.append(Finding(model._meta.db_table, record_id, str(FROZEN_M2M_CHANGED % {
                "field": field.name, "change": change})))
    return findings


def record_findings(using: str) -> list[Finding]:
    """Frozen records and the apps' registered checks, read in one snapshot."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("integrity")
    with _one_snapshot(using):
        findings = frozen_record_findings(using)
        for check in _record_checks.values():
            findings += check(using)
    return findings


def verify(*, using: str = "default", batch_size: int = 2000, snapshot_rows: int = SNAPSHOT_ROWS,
           progress: "Progress | None" = None) -> VerifyReport:
    """Check every append-only row, the seal chain and the records that must agree with their history.

    Rows are fetched ``batch_size`` at a time and read ``snapshot_rows`` to a snapshot (see _verify_table).
    """
    if batch_size < 1 or snapshot_rows < 1:
        raise ValueError("batch_size and snapshot_rows must be at least 1")
    progress = progress or (lambda table, count, done: None)
    report = VerifyReport(findings=[])
    sealed_missing: dict[tuple[str, int], Finding] = {}
    tables = _existing_tables(using)
    retired = None
    if AccessLogRetirement._meta.db_table in tables:
        from .partitions import RetiredRows

        retired = RetiredRows(using)
        report.findings.extend(Finding(AccessLogRetirement._meta.db_table, retirement.pk, str(RETIREMENT_CHANGED))
                               for retirement in retired.forged)
        report.retired = retired.described()
    _verify_seals(using, report, sealed_missing, progress, retired)
    if retired is not None:
        report.retired_rows = retired.count
    present = [model for model in digested_models() if model._meta.db_table in tables]
    # Many audited tables are small or empty: their ids in one query, and the empty ones never
    # digested (no row, no digest: nothing to compare) passed over without reading them.
    table_ids = dict(AuditedTable.objects.using(using).values_list("name", "pk"))
    layouts = _layouts_by_table(using)
    holding = _tables_holding_rows(using, [model._meta.db_table for model in present])
    with _Snapshots(using, snapshot_rows) as snapshots:
        for model in present:
            table = model._meta.db_table
            if table not in holding and table not in table_ids:
                progress(table, 0, True)
                continue
            table_id = table_ids.get(table)
            _verify_table(model, using, batch_size, report, sealed_missing, progress, snapshots,
                          table_id=table_id, layouts=layouts.get(table_id, []))
    report.findings.extend(record_findings(using))
    # Sealed rows whose row and digest are both gone were never met in the tables.
    report.findings.extend(sealed_missing.values())
    report.findings.sort(key=lambda finding: (finding.table, finding.row_id))
    return report



def digest_rows(*, model, row_ids: Sequence[int], using: str | None = None) -> list[tuple[int, int, int, bytes]]:
    """(table id, row id, layout id, MAC) of many rows just written, read back in one query per chunk.

    The MAC ``write_digest`` computes, from each row as the database gives it back; the table and
    layout ids are looked up once for the whole call (audit/bulk.py writes the digests in bulk).
    """
    model = model._meta.concrete_model
    alias = using or router.db_for_write(model)
    columns = _columns(model)
    names = [column for column, _attname in columns]  # sorted by column, as _digest sorts them
    table = model._meta.db_table
    table_id = _table_id(alias, table)
    layout_id = _layout_id(alias, table_id, ",".join(names))
    digests = []
    for start in range(0, len(row_ids), 1000):
        chunk = [_check_integer_pk(model, row_id) for row_id in row_ids[start:start + 1000]]
        found = {
            pk: values for pk, *values in model._base_manager.using(alias).filter(pk__in=chunk)
            .values_list("pk", *(attname for _column, attname in columns))
        }
        macs = row_macs(table=table, columns=names, rows=[(row_id, found[row_id]) for row_id in chunk])
        digests += [(table_id, row_id, layout_id, mac) for row_id, mac in zip(chunk, macs, strict=True)]
    return digests


def write_digests(*, model, row_ids: Sequence[int], using: str | None = None) -> list[RowDigest]:
    """Digest many rows just written, as ``write_digest`` does one by one, with one bulk INSERT."""
    alias = using or router.db_for_write(model._meta.concrete_model)
    digests = [RowDigest(table_id=table_id, row_id=row_id, layout_id=layout_id, mac=mac)
               for table_id, row_id, layout_id, mac in digest_rows(model=model, row_ids=row_ids, using=alias)]
    RowDigest.objects.using(alias).bulk_create(digests, batch_size=1000)
    return digests
