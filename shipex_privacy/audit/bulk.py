"""The bulk audited write path: many rows, their history, trail entries and digests, in a few statements.

``record_save_many`` writes what a loop of ``audit.services.record_save`` would write — the same
tracked rows, history rows (actor, request address, reason, ``+``/``~``), trail entries with the
event, and the digests of the history rows and trail entries — but with bulk INSERT/UPDATE
statements, one transaction per call. ``record_delete_many`` is ``audit.services.record_delete``
for many rows (their ``-`` history rows, trail entries and digests, then one DELETE), for models
that nothing else points to. ``append_many`` does for rows of append-only, untracked models
(consent ledgers, the access log) what their one-by-one save does. tests/audit/test_bulk.py and
test_bulk_delete.py compare both paths row for row.

What it cannot reproduce it refuses (``ImproperlyConfigured``) rather than silently differ: a
model with m2m history, an overridden ``save()``, or a receiver of ``pre_save``/``post_save`` or
of simple-history's signals other than the audit app's own.

Erased subjects: a model whose rows belong to a subject whose data must no longer change has
``accepts_edits(lock=True)`` (see ``audit.services.refuse_erased``). For a batch it may add the
classmethod hook::

    @classmethod
    def accepts_edits_many(cls, instances, *, lock: bool) -> list[bool]: ...

answering for all instances at once (e.g. locking the subjects involved in one query, in id
order so two batches never deadlock). A model with ``accepts_edits`` but no hook is checked one
instance at a time: correct, but one query per instance. A model whose validation reads
something the whole batch shares may add the classmethod ``validating_many()``, a context
manager the batch is validated in (``DataSubject``: the catalogue read once per batch).

Validation: every instance's ``full_clean()`` without its per-row uniqueness and constraint
queries; uniqueness is checked for the whole batch in one query per unique set, and the
database holds the check constraints — should it refuse the batch, each instance is validated
in full to name the one refused.
"""

import contextlib
import datetime
import ipaddress
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import IntegrityError, connections, models, router, transaction
from django.db.models import Q
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from psycopg.types.json import Jsonb
from simple_history.models import HistoricalRecords
from simple_history.signals import post_create_historical_record, pre_create_historical_record

from . import tamper, trail
from .events import Actor, AuditEvent
from .history import is_append_only
from .models import RowDigest, TrailEntry

CHUNK = 1000
ERASED_MESSAGE = _("The data of this subject was erased or anonymised; it changes only through an erasure or a "
                   "correction request. Nothing was saved.")


class BatchRefused(ValidationError):
    """Some instances of a batch were refused; nothing of the batch was written.

    ``errors`` maps each refused instance's index (in the sequence given) to its ValidationError;
    the exception itself carries the first one's messages, so it reads like record_save's refusal.
    """

    def __init__(self, errors: dict[int, ValidationError]):
        self.errors = dict(sorted(errors.items()))
        self.index = next(iter(self.errors))
        first = self.errors[self.index]
        super().__init__(first.error_dict if hasattr(first, "error_dict") else first.error_list)

    def __str__(self) -> str:
        return "; ".join(f"#{index}: {'; '.join(error.messages)}" for index, error in self.errors.items())


# --- what the one-at-a-time path would do, and whether we can do the same ---------------------------


def _receivers(signal, sender) -> list:
    live = signal._live_receivers(sender)
    if isinstance(live, tuple):  # Django 5: (sync receivers, async receivers)
        live = [*live[0], *live[1]]
    return list(live)


def _history_records(model) -> HistoricalRecords | None:
    """The HistoricalRecords that writes ``model``'s history: the owner of its post_save receiver."""
    for receiver in _receivers(post_save, model):
        owner = getattr(receiver, "__self__", None)
        if isinstance(owner, HistoricalRecords):
            return owner
    return None


def _refuse(model, why: str) -> None:
    raise ImproperlyConfigured(f"{model._meta.label}: the bulk audited path cannot write it: {why}.")


def _check_plain_save(model) -> None:
    if model.save is not models.Model.save:
        _refuse(model, "it overrides save()")
    if _receivers(pre_save, model):
        _refuse(model, "it has pre_save receivers")


def _check_tracked(model) -> HistoricalRecords:
    _check_plain_save(model)
    records = _history_records(model)
    if records is None:
        _refuse(model, "it has no history (use append_many for append-only rows)")
    if is_append_only(model):
        _refuse(model, "it is append-only; use append_many")
    others = [r for r in _receivers(post_save, model)
              if getattr(r, "__self__", None) is not records and r is not tamper.digest_saved_row]
    if others:
        _refuse(model, f"other post_save receivers {others!r}")
    history = getattr(model, records.manager_name).model
    if getattr(history, "_history_m2m_fields", None):
        _refuse(model, "it keeps m2m history")
    if [r for r in _receivers(post_create_historical_record, history) if r is not trail.record_entry]:
        _refuse(model, "other post_create_historical_record receivers")
    _check_append_only(history)
    return records


def _check_append_only(model) -> None:
    _check_plain_save(model)
    if not is_append_only(model) or tamper.is_evidence(model):
        _refuse(model, "it is not an append-only, digested model")
    if _history_records(model) is not None:
        _refuse(model, "it is tracked; use record_save_many")
    if [r for r in _receivers(post_save, model) if r is not tamper.digest_saved_row]:
        _refuse(model, "other post_save receivers")


# --- refusals: erased subjects and validation ---------------------------------------------------------


def _erased_refusals(model, indexed: list[tuple[int, models.Model]]) -> dict[int, ValidationError]:
    hook = getattr(model, "accepts_edits_many", None)
    instances = [instance for _index, instance in indexed]
    if hook is not None:
        answers = hook(instances, lock=True)
    elif hasattr(model, "accepts_edits"):
        answers = [instance.accepts_edits(lock=True) for instance in instances]  # one query each
    else:
        return {}
    return {index: ValidationError(ERASED_MESSAGE, code="erased")
            for (index, _instance), accepted in zip(indexed, answers, strict=True) if not accepted}


def _batch_parents(instance, batch_ids: set[int]) -> list[str]:
    """Foreign keys to an instance of this batch not written yet (its id comes with the write)."""
    names = []
    for field in instance._meta.concrete_fields:
        if field.is_relation and field.many_to_one and getattr(instance, field.attname) is None \
                and field.is_cached(instance):
            parent = field.get_cached_value(instance)
            if parent is not None and parent.pk is None and id(parent) in batch_ids:
                names.append(field.name)
    return names


def _clean(instance, exclude: list[str], errors: dict, index: int, *, full: bool) -> None:
    try:
        if full:
            instance.full_clean(exclude=exclude)
        else:
            instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        errors[index] = error


def _unique_refusals(model, indexed: list[tuple[int, models.Model]], excluded: dict[int, list[str]],
                     using: str) -> dict[int, ValidationError]:
    """validate_unique for the whole batch: one query per unique set, and duplicates within the batch."""
    if not indexed:
        return {}
    unique_checks, date_checks = indexed[0][1]._get_unique_checks(include_meta_constraints=True)
    if date_checks:
        _refuse(model, "unique_for_date fields")
    errors: dict[int, ValidationError] = {}
    for model_class, names in unique_checks:
        fields = [model_class._meta.get_field(name) for name in names]
        keyed: dict[tuple, list[tuple[int, models.Model]]] = defaultdict(list)
        for index, instance in indexed:
            if index in errors or any(name in excluded.get(index, ()) for name in names):
                continue
            if any(f.primary_key and not instance._state.adding for f in fields):
                continue  # as Model._perform_unique_checks: an existing row's own pk
            key = tuple(getattr(instance, f.attname) for f in fields)
            if any(value is None for value in key):
                continue
            keyed[key].append((index, instance))
        if not keyed:
            continue
        taken: dict[tuple, object] = {}
        attnames = [f.attname for f in fields]
        keys = list(keyed)
        for start in range(0, len(keys), CHUNK):
            chunk = keys[start:start + CHUNK]
            if len(fields) == 1:
                condition = Q(**{f"{attnames[0]}__in": [key[0] for key in chunk]})
            else:
                condition = Q()
                for key in chunk:
                    condition |= Q(**dict(zip(attnames, key, strict=True)))
            for pk, *values in model_class._default_manager.using(using).filter(condition).values_list(
                    "pk", *attnames):
                taken[tuple(values)] = pk
        for key, holders in keyed.items():
            for position, (index, instance) in enumerate(holders):
                owner = taken.get(key)
                clash = (owner is not None and owner != instance.pk) or position > 0
                if clash:
                    errors[index] = ValidationError({
                        names[0] if len(names) == 1 else "__all__": [
                            instance.unique_error_message(model_class, names)]})
    return errors


def _refusals(groups: dict[type, list[tuple[int, models.Model]]], *, allow_erased: bool, validate: bool,
              using: str) -> None:
    errors: dict[int, ValidationError] = {}
    if not allow_erased:
        for model, indexed in groups.items():
            errors.update(_erased_refusals(model, indexed))
    if validate:
        batch_ids = {id(instance) for indexed in groups.values() for _index, instance in indexed}
        for model, indexed in groups.items():
            excluded = {}
            with _validating(model):
                for index, instance in indexed:
                    if index in errors:
                        continue
                    excluded[index] = _batch_parents(instance, batch_ids)
                    _clean(instance, excluded[index], errors, index, full=False)
            unrefused = [(index, instance) for index, instance in indexed if index not in errors]
            errors.update(_unique_refusals(model, unrefused, excluded, using))
    if errors:
        raise BatchRefused(errors)


def _validating(model):
    """The model's ``validating_many()`` context (e.g. reading the catalogue once for the batch), if it has one."""
    hook = getattr(model, "validating_many", None)
    return hook() if hook is not None else contextlib.nullcontext()


def _name_refused(groups, database_error: Exception) -> None:
    """The database refused the batch (a check constraint, a unique row written meanwhile): say which row."""
    errors: dict[int, ValidationError] = {}
    batch_ids = {id(instance) for indexed in groups.values() for _index, instance in indexed}
    for indexed in groups.values():
        for index, instance in indexed:
            _clean(instance, _batch_parents(instance, batch_ids), errors, index, full=True)
    if errors:
        raise BatchRefused(errors) from database_error
    raise database_error


# --- writing -----------------------------------------------------------------------------------------


def _group(instances: Sequence[models.Model]) -> dict[type, list[tuple[int, models.Model]]]:
    """Instances by concrete model, each in the order given; a model after the models it points to."""
    groups: dict[type, list[tuple[int, models.Model]]] = {}
    seen: set = set()
    for index, instance in enumerate(instances):
        model = type(instance)
        key = (model, instance.pk) if instance.pk is not None else id(instance)
        if key in seen:
            raise ValueError(f"{model._meta.label} {instance.pk or ''} appears twice in one batch; "
                             "write it in two batches")
        seen.add(key)
        groups.setdefault(model, []).append((index, instance))
    ordered: list[type] = []

    def place(model, path=()):
        if model in ordered or model in path:
            return
        for field in model._meta.concrete_fields:
            target = field.related_model if field.is_relation and field.many_to_one else None
            if target is not None and target in groups and target is not model:
                place(target, (*path, model))
        ordered.append(model)

    for model in list(groups):
        place(model)
    return {model: groups[model] for model in ordered}


def _one_alias(models_: Iterable[type]) -> str:
    aliases = {router.db_for_write(model) for model in models_}
    if len(aliases) != 1:
        raise ImproperlyConfigured(f"The bulk audited path writes to one database, not {sorted(aliases)}.")
    return aliases.pop()


def _insert_append_only(model, rows: list[models.Model], using: str) -> None:
    """INSERT rows of an append-only model and their digests.

    The digests are computed from the values just copied in when each of them is one the database
    gives back unchanged (:func:`_digests_of_copied`); otherwise the rows are read back.
    """
    if not rows:
        return
    copied = _insert(model, rows, using)
    ids = [row.pk for row in rows]
    if any(pk is None for pk in ids):
        raise ImproperlyConfigured(f"{model._meta.label}: bulk_create returned no ids; rows cannot be digested.")
    _write_digests(model, copied, ids, using)


def _insert_append_only_values(model, rows: list[dict], using: str) -> None:
    """:func:`_insert_append_only` for rows given as ``{attname: value}`` of every field but the pk.

    No model instance per row: building one costs more than copying the row in, and the bulk path
    writes one trail entry per history row and nothing reads them afterwards. SQLite takes the
    instance path (bulk_create).
    """
    if not rows:
        return
    if not _postgres(using):
        _insert_append_only(model, [model(**row) for row in rows], using)
        return
    connection = connections[using]
    fields = model._meta.concrete_fields
    pk = model._meta.pk
    prepared = [(field.attname, _value_prep(field, connection)) for field in fields if field is not pk]
    ids = _next_ids(model, len(rows), using)
    at = fields.index(pk)
    copied = []
    for pk_value, row in zip(ids, rows, strict=True):
        values = [prep(row[attname]) for attname, prep in prepared]
        values.insert(at, pk_value)
        copied.append(tuple(values))
    _copy(model, fields, copied, using)
    _write_digests(model, copied, ids, using)


def _value_prep(field, connection):
    """A value as the field saves it, from the value alone (no instance: a field whose save needs one is refused)."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False) or field.is_relation:
        raise ImproperlyConfigured(f"{field.model._meta.label}.{field.name}: its value needs the instance.")
    plain = _PLAIN_TYPES.get(type(field))
    if type(field) is models.DateTimeField:
        return lambda value: value if value is None or (type(value) is datetime.datetime and value.tzinfo) \
            else field.get_db_prep_save(value, connection)
    if plain is not None:
        return lambda value: value if value is None or type(value) is plain else field.get_db_prep_save(value,
                                                                                                       connection)
    return lambda value: field.get_db_prep_save(value, connection)


def _write_digests(model, copied: list[tuple] | None, ids: list[int], using: str) -> None:
    digests = _digests_of_copied(model, copied, using) if copied is not None else None
    if digests is None:
        digests = tamper.digest_rows(model=model, row_ids=ids, using=using)
    if _postgres(using):
        now = timezone.now()
        _copy(RowDigest, [RowDigest._meta.get_field(name) for name in ("table", "row_id", "layout", "mac",
                                                                      "created_at")],
              [(*digest, now) for digest in digests], using)
    else:
        RowDigest.objects.using(using).bulk_create(
            [RowDigest(table_id=t, row_id=r, layout_id=layout, mac=mac) for t, r, layout, mac in digests],
            batch_size=CHUNK)


# Values whose type the database gives back as it was copied in (timestamps in UTC, which the MAC
# uses anyway; choices as their text). An IPv4 address comes back as its text; an IPv6 one in
# PostgreSQL's own spelling, which Python's may not match (IPv4-mapped), so such a batch is read back.
_SAME_ON_READ = (str, int, bool, type(None), datetime.datetime, datetime.date, bytes)


def _plain_json(value) -> bool:
    """Whether a JSON value reads back from jsonb as it went in: text, integers, booleans, null, in lists and
    objects with text keys. (Not floats: jsonb keeps numbers as numeric, and 1e5 comes back as 100000.)"""
    kind = type(value)
    if kind in (str, int, bool) or value is None:
        return True
    if kind is list:
        return all(_plain_json(item) for item in value)
    if kind is dict:
        return all(type(key) is str and _plain_json(item) for key, item in value.items())
    return False


def _digests_of_copied(model, copied: list[tuple], using: str) -> list[tuple[int, int, int, bytes]] | None:
    """``tamper.digest_rows`` for rows just copied in, from the copied values; None if one may read back otherwise."""
    fields = model._meta.concrete_fields
    position = {field.column: index for index, field in enumerate(fields)}
    names = [column for column, _attname in tamper._columns(model)]  # the MAC's order of columns
    order = [position[name] for name in names]
    pk_at = position[model._meta.pk.column]
    rows = []
    for values in copied:
        row = []
        for index in order:
            value = values[index]
            kind = type(value)
            if kind in _SAME_ON_READ:
                if kind is datetime.datetime and value.tzinfo is None:
                    return None
            elif isinstance(value, str):  # a choice (TextChoices): copied, and read back, as its text
                value = str.__str__(value)
            elif kind is ipaddress.IPv4Address:
                value = str(value)
            elif kind is Jsonb and _plain_json(value.obj):  # a JSONField's value, as the ORM reads it back
                value = value.obj
            else:
                return None
            row.append(value)
        rows.append((values[pk_at], row))
    table = model._meta.db_table
    table_id = tamper._table_id(using, table)
    layout_id = tamper._layout_id(using, table_id, ",".join(names))
    macs = tamper.row_macs(table=table, columns=names, rows=rows)
    return [(table_id, row_id, layout_id, mac) for (row_id, _row), mac in zip(rows, macs, strict=True)]


def _update(model, instances: list[models.Model], using: str) -> None:
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    for instance in instances:
        for field in fields:
            field.pre_save(instance, False)  # as save() does: auto_now and the like set their value
    if _postgres(using):
        updated = _update_postgres(model, instances, fields, using)
    else:
        updated = model._base_manager.using(using).bulk_update(instances, [f.name for f in fields],
                                                              batch_size=CHUNK)
    if updated != len(instances):
        raise model.DoesNotExist(f"{len(instances) - updated} {model._meta.label} rows to update are gone")


# --- PostgreSQL: COPY and UPDATE … FROM UNNEST -----------------------------------------------------------
# Django's bulk_create and bulk_update spend most of a batch preparing values one by one and, for
# updates, in CASE expressions that grow with the batch. On PostgreSQL the rows go in with COPY
# (ids drawn from the table's sequence first, since COPY returns none) and updates join one array
# per column. Values are prepared by the fields themselves (get_db_prep_save), except plain values
# of plain fields that it would pass through unchanged.

_PLAIN_TYPES = {models.CharField: str, models.TextField: str, models.IntegerField: int,
                models.BigIntegerField: int, models.PositiveIntegerField: int, models.SmallIntegerField: int,
                models.BooleanField: bool, models.ForeignKey: int, models.BinaryField: bytes,
                models.AutoField: int, models.BigAutoField: int, models.SmallAutoField: int,
                models.PositiveSmallIntegerField: int, models.PositiveBigIntegerField: int}
_sequences: dict[tuple[str, str], str] = {}


def _postgres(using: str) -> bool:
    return connections[using].vendor == "postgresql"


def _getter(field, connection, add: bool):
    attname, plain = field.attname, _PLAIN_TYPES.get(type(field))
    if type(field) is models.DateTimeField and not (field.auto_now or field.auto_now_add):
        def get(obj):
            value = getattr(obj, attname)
            if value is None or (type(value) is datetime.datetime and value.tzinfo is not None):
                return value
            return field.get_db_prep_save(value, connection)
        return get
    if plain is not None:
        def get(obj):
            value = getattr(obj, attname)
            if value is None or type(value) is plain:
                return value
            return field.get_db_prep_save(value, connection)
        return get
    return lambda obj: field.get_db_prep_save(field.pre_save(obj, add), connection)


def _values(fields, objs, connection, add: bool) -> list[tuple]:
    getters = [_getter(field, connection, add) for field in fields]
    return [tuple(get(obj) for get in getters) for obj in objs]


def _logged(connection, sql: str, started: float) -> None:
    if connection.queries_logged:  # so that query counts (and DEBUG) see the COPY too
        connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})


def _copy(model, fields, rows: list[tuple], using: str) -> None:
    connection = connections[using]
    quote = connection.ops.quote_name
    sql = f"COPY {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) FROM STDIN"
    started = time.monotonic()
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
    _logged(connection, sql, started)


def _next_ids(model, count: int, using: str) -> list[int]:
    connection = connections[using]
    table, column = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        if (using, table) not in _sequences:
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [connection.ops.quote_name(table), column])
            _sequences[(using, table)] = cursor.fetchone()[0]
        cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [_sequences[(using, table)], count])
        return sorted(row[0] for row in cursor.fetchall())


def _insert(model, objs: list[models.Model], using: str) -> list[tuple] | None:
    """INSERT ``objs`` (their ids set); the value tuples copied in, in concrete field order, or None (bulk_create)."""
    pk = model._meta.pk
    if not _postgres(using) or pk.get_internal_type() not in ("AutoField", "BigAutoField", "SmallAutoField"):
        model._base_manager.using(using).bulk_create(objs, batch_size=CHUNK)
        return None
    connection = connections[using]
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="bulk_create")
    missing = [obj for obj in objs if obj.pk is None]
    for obj, pk_value in zip(missing, _next_ids(model, len(missing), using) if missing else [], strict=True):
        obj.pk = pk_value
    fields = model._meta.concrete_fields
    rows = _values(fields, objs, connection, add=True)
    _copy(model, fields, rows, using)
    for obj in objs:
        obj._state.adding, obj._state.db = False, using
    return rows


def _update_postgres(model, objs: list[models.Model], fields, using: str) -> int:
    connection = connections[using]
    quote = connection.ops.quote_name
    pk = model._meta.pk
    columns = [pk, *fields]
    rows = _values(columns, objs, connection, add=False)
    arrays = [list(column) for column in zip(*rows, strict=True)]
    names = ", ".join(quote(f"v_{f.column}") for f in columns)
    # Safe: only quoted names and types from the model's own metadata; every value is a parameter.
    sql = (f"UPDATE {quote(model._meta.db_table)} AS t SET "  # noqa: S608
           + ", ".join(f"{quote(f.column)} = v.{quote('v_' + f.column)}" for f in fields)
           + " FROM UNNEST(" + ", ".join(f"%s::{f.cast_db_type(connection)}[]" for f in columns)
           + f") AS v({names}) WHERE t.{quote(pk.column)} = v.{quote('v_' + pk.column)}")
    with connection.cursor() as cursor:
        cursor.execute(sql, arrays)
        return cursor.rowcount


def _snapshot(instances):
    return [(instance, dict(instance.__dict__), instance._state.adding, instance._state.db) for instance in instances]


def _restore(snapshot) -> None:
    for instance, attributes, adding, db in snapshot:
        instance.__dict__.clear()
        instance.__dict__.update(attributes)
        instance._state.adding, instance._state.db = adding, db


def _per_instance(value, count: int, name: str) -> list:
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [value] * count
    if len(value) != count:
        raise ValueError(f"{name}: {len(value)} given for {count} instances")
    return list(value)


@transaction.atomic
def record_save_many(*, instances: Sequence[models.Model], actor: Actor | None, reason: str | Sequence[str],
                     event: AuditEvent | Sequence[AuditEvent], allow_erased: bool = False,
                     validate: bool = True) -> list[models.Model]:
    """Like record_save for many tracked instances (new ones are inserted, saved ones updated).

    Bulk INSERT/UPDATE of the rows, bulk INSERT of their history rows (user id and name from
    ``actor``, the current request's address, the reason, ``+`` or ``~``), their trail entries
    with the event, and the digests of history rows and trail entries. ``reason`` and ``event``
    are one for all or one per instance. Refusals raise :class:`BatchRefused` (a ValidationError
    naming each refused index) with nothing written; ``validate=False`` is for callers that ran
    the same validation already.
    """
    instances = list(instances)
    reasons = [str(r) for r in _per_instance(reason, len(instances), "reason")]
    events = [AuditEvent(e) for e in _per_instance(event, len(instances), "event")]  # untyped fails here
    if not instances:
        return []
    groups = _group(instances)
    records = {model: _check_tracked(model) for model in groups}
    using = _one_alias(groups)
    _refusals(groups, allow_erased=allow_erased, validate=validate, using=using)

    for index, instance in enumerate(instances):  # what audit.services._stamp leaves on each instance
        instance._history_user = actor
        instance._change_reason = reasons[index]
        instance._history_event = events[index]

    snapshot = _snapshot(instances)
    try:
        with transaction.atomic(using=using):
            _write_tracked(groups, records, using)
    except IntegrityError as error:
        _restore(snapshot)
        _name_refused(groups, error)
    except BaseException:
        _restore(snapshot)
        raise
    return instances


def _write_tracked(groups, records, using) -> None:
    now = timezone.now()
    history_enabled = getattr(settings, "SIMPLE_HISTORY_ENABLED", True)
    history_rows: dict[int, models.Model] = {}
    events: dict[int, str] = {}
    for model, indexed in groups.items():
        new = [instance for _index, instance in indexed if instance._state.adding]
        old = [instance for _index, instance in indexed if not instance._state.adding]
        if new:
            _insert(model, new, using)
            if any(instance.pk is None for instance in new):
                raise ImproperlyConfigured(f"{model._meta.label}: bulk_create returned no ids.")
        if old:
            _update(model, old, using)
        new_ids = {id(instance) for instance in new}
        rows = []
        record = records[model]
        history = getattr(model, record.manager_name).model
        for index, instance in indexed:
            if not history_enabled or hasattr(instance, "skip_history_when_saving"):
                continue
            row = _history_row(record, history, instance, "+" if id(instance) in new_ids else "~", now, using)
            history_rows[index] = row
            events[index] = getattr(instance, "_history_event", "")
            rows.append(row)
        _insert_append_only(history, rows, using)
    # In the order given, as the one-at-a-time path writes them.
    entries = [trail.entry_values(history_rows[index], events[index]) for index in sorted(history_rows)]
    _insert_append_only_values(TrailEntry, entries, using)


def _history_row(record: HistoricalRecords, history, instance, history_type: str, now, using):
    """The history row simple-history's create_historical_record builds, with the same signal before it."""
    history_date = getattr(instance, "_history_date", now)
    history_user = record.get_history_user(instance)
    reason = record.get_change_reason_for_object(instance, history_type, using)
    attrs = {field.attname: getattr(instance, field.attname) for field in record.fields_included(instance)}
    if getattr(history, "history_relation", None) is not None:
        attrs["history_relation"] = instance
    row = history(history_date=history_date, history_type=history_type, history_user=history_user,
                  history_change_reason=reason, **attrs)
    pre_create_historical_record.send(
        sender=history, instance=instance, history_date=history_date, history_user=history_user,
        history_change_reason=reason, history_instance=row, using=using if record.use_base_model_db else None)
    return row


def _check_deletable(model) -> HistoricalRecords:
    """What ``instance.delete()`` does for ``model`` is simple-history's ``-`` row and the DELETE, nothing else."""
    records = _check_tracked(model)
    if model.delete is not models.Model.delete:
        _refuse(model, "it overrides delete()")
    for signal, name in ((pre_delete, "pre_delete"), (post_delete, "post_delete")):
        if [r for r in _receivers(signal, model) if getattr(r, "__self__", None) is not records]:
            _refuse(model, f"other {name} receivers")
    if records.cascade_delete_history:
        _refuse(model, "its history is deleted with it")
    pointing = [relation for relation in model._meta.related_objects if relation.on_delete is not models.DO_NOTHING]
    if pointing:
        _refuse(model, f"rows of {pointing[0].related_model._meta.label} point to it (a delete would collect them)")
    return records


def can_delete_many(model) -> bool:
    """Whether :func:`record_delete_many` can delete rows of ``model`` (else: ``record_delete`` one by one)."""
    try:
        _check_deletable(model)
    except ImproperlyConfigured:
        return False
    return True


@transaction.atomic
def record_delete_many(*, instances: Sequence[models.Model], actor: Actor | None, reason: str | Sequence[str],
                       event: AuditEvent | Sequence[AuditEvent] = AuditEvent.DELETED,
                       allow_erased: bool = False) -> None:
    """Like record_delete for many saved instances of models nothing else points to (:func:`can_delete_many`).

    Each instance's history gets its last state as a ``-`` row with ``actor``, ``reason`` and
    ``event``, with its trail entry and digests, as ``instance.delete()`` writes it; then one DELETE
    per model. The instances lose their pk, as after ``delete()``. Refusals as in
    :func:`record_save_many`.
    """
    instances = list(instances)
    reasons = [str(r) for r in _per_instance(reason, len(instances), "reason")]
    events = [AuditEvent(e) for e in _per_instance(event, len(instances), "event")]
    if not instances:
        return
    if any(instance.pk is None or instance._state.adding for instance in instances):
        raise ValueError("record_delete_many deletes saved rows only")
    groups = _group(instances)
    records = {model: _check_deletable(model) for model in groups}
    using = _one_alias(groups)
    _refusals(groups, allow_erased=allow_erased, validate=False, using=using)
    now = timezone.now()
    history_enabled = getattr(settings, "SIMPLE_HISTORY_ENABLED", True)
    history_rows: dict[int, models.Model] = {}
    for model, indexed in groups.items():
        record = records[model]
        history = getattr(model, record.manager_name).model
        included = {field.attname for field in record.fields_included(indexed[0][1])}
        rows = []
        for index, instance in indexed:
            deferred = included & instance.get_deferred_fields()
            if deferred:  # as simple-history's pre_delete: the last state in full
                instance.refresh_from_db(fields=deferred)
            instance._history_user, instance._change_reason = actor, reasons[index]
            instance._history_event = events[index]
            if history_enabled:
                history_rows[index] = _history_row(record, history, instance, "-", now, using)
                rows.append(history_rows[index])
        _insert_append_only(history, rows, using)
        pks = [instance.pk for _index, instance in indexed]
        deleted = 0
        for start in range(0, len(pks), CHUNK):
            # _raw_delete: the DELETE alone, as Django's Collector runs it for rows it has nothing to collect
            # for (checked above); QuerySet.delete() would send the signals and write the history again.
            deleted += model._base_manager.using(using).filter(pk__in=pks[start:start + CHUNK])._raw_delete(using)
        if deleted != len(pks):
            raise model.DoesNotExist(f"{len(pks) - deleted} {model._meta.label} rows to delete are gone")
    entries = [trail.entry_values(history_rows[index], events[index]) for index in sorted(history_rows)]
    _insert_append_only_values(TrailEntry, entries, using)
    for _model, indexed in groups.items():
        for _index, instance in indexed:
            instance.pk = None


@transaction.atomic
def append_many(*, rows: Sequence[models.Model], validate: bool = True) -> list[models.Model]:
    """Bulk INSERT of rows of append-only, untracked models (consent ledgers, the access log) with their digests.

    Refusals as in :func:`record_save_many`; a model with an erased-subject guard
    (``accepts_edits``) is guarded here too.
    """
    rows = list(rows)
    if not rows:
        return []
    if any(not row._state.adding for row in rows):
        raise ValueError("append_many inserts new rows only: append-only rows are never updated")
    groups = _group(rows)
    for model in groups:
        _check_append_only(model)
    using = _one_alias(groups)
    _refusals(groups, allow_erased=False, validate=validate, using=using)
    snapshot = _snapshot(rows)
    try:
        with transaction.atomic(using=using):
            for model, indexed in groups.items():
                _insert_append_only(model, [row for _index, row in indexed], using)
    except IntegrityError as error:
        _restore(snapshot)
        _name_refused(groups, error)
    except BaseException:
        _restore(snapshot)
        raise
    return rows
