"""The bulk audited path writes exactly what a loop of record_save writes, in a constant number of queries."""

import datetime

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connection, transaction
from django.db.models import Count, Max
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from simple_history.models import HistoricalRecords

from shipex_privacy.audit import tamper
from shipex_privacy.audit.bulk import BatchRefused, append_many, record_save_many
from shipex_privacy.audit.events import ApiActor, AuditEvent, SystemActor
from shipex_privacy.audit.models import AccessEvent, AuditedTable, RowDigest, TrailEntry
from shipex_privacy.audit.services import record_save
from shipex_privacy.consents import figures
from shipex_privacy.consents.models import Channel, Consent, ConsentEvent
from shipex_privacy.subjects.models import Address, DataSubject
from tests.catalogue.factories import PurposeFactory
from tests.consents.factories import PolicyVersionFactory
from tests.subjects.factories import AddressFactory, DataSubjectFactory

pytestmark = pytest.mark.django_db

WHEN = datetime.datetime(2026, 11, 3, 9, 30, tzinfo=datetime.UTC)
HISTORY = (DataSubject.history.model, Address.history.model)


class Rollback(Exception):
    pass


def subject(account_id: str, name: str = "Dilnoza Rahimova", phone: str = "+998 90 123 45 67") -> DataSubject:
    return DataSubject(account_id=account_id, full_name=name, phone=phone, registered_at=WHEN)


def address(owner: DataSubject, street: str) -> Address:
    return Address(subject=owner, region="Toshkent", city="Yunusobod", street=street, created_at=WHEN)


# --- one writes, the other writes: the same rows ------------------------------------------------------


def marks() -> dict:
    """The highest id of every table a write adds to, so that what a run added can be read back."""
    return {
        **{model: model.objects.aggregate(top=Max("history_id"))["top"] or 0 for model in HISTORY},
        TrailEntry: TrailEntry.objects.aggregate(top=Max("id"))["top"] or 0,
        RowDigest: RowDigest.objects.aggregate(top=Max("id"))["top"] or 0,
    }


def key_of(model_label: str, pk) -> str:
    """Ids differ between the runs; a record is named by what it holds."""
    if pk is None:
        return ""
    if model_label == "subjects.datasubject":
        return DataSubject.objects.get(pk=pk).account_id
    row = Address.objects.get(pk=pk)
    return f"{row.subject.account_id}/{row.street}"


def written(before: dict, account_ids: list[str]) -> dict:
    def values(row, skip=()):
        return {f.attname: getattr(row, f.attname) for f in type(row)._meta.concrete_fields if f.attname not in skip}

    subjects = sorted((values(s, {"id"}) for s in DataSubject.objects.filter(account_id__in=account_ids)),
                      key=lambda row: row["account_id"])
    addresses = sorted(({**values(a, {"id", "subject_id"}), "subject": a.subject.account_id}
                        for a in Address.objects.filter(subject__account_id__in=account_ids)),
                       key=lambda row: (row["subject"], row["street"]))
    history = {}
    for model in HISTORY:
        label = model.instance_type._meta.label_lower
        history[label] = [
            {**values(row, {"history_id", "history_date", "id", "subject_id"}), "record": key_of(label, row.id),
             "subject": key_of("subjects.datasubject", getattr(row, "subject_id", None))}
            for row in model.objects.filter(history_id__gt=before[model]).order_by("history_id")
        ]
    trail = [
        {**values(entry, {"id", "at", "history_id", "object_id", "subject_id"}),
         "record": key_of(entry.model, int(entry.object_id)), "subject": key_of("subjects.datasubject",
                                                                                 entry.subject_id)}
        for entry in TrailEntry.objects.filter(id__gt=before[TrailEntry]).order_by("id")
    ]
    names = dict(AuditedTable.objects.values_list("pk", "name"))
    digests = {names[row["table_id"]]: row["n"] for row in RowDigest.objects.filter(id__gt=before[RowDigest])
               .values("table_id").annotate(n=Count("id"))}
    return {"subjects": subjects, "addresses": addresses, "history": history, "trail": trail, "digests": digests}


def a_batch(existing: DataSubject, existing_address: Address) -> tuple[list, list[str]]:
    """Creates and updates of two models, mixed, with addresses of a subject written in the same batch."""
    existing = DataSubject.objects.get(pk=existing.pk)
    existing.full_name = "Dilnoza Karimova"
    existing_address = Address.objects.get(pk=existing_address.pk)
    existing_address.landmark = "Mega Planet"
    first, second = subject("SX2000001", "Aziz Karimov"), subject("sx 2000 002", "Bobur Aliyev", "90 765 43 21")
    instances = [existing, first, address(first, "Amir Temur 1"), existing_address, second,
                 address(existing, "Navoiy 7"), address(first, "Bobur 12")]
    return instances, [existing.account_id, "SX2000001", "SX2000002"]


def run_both(write_one_by_one, write_in_bulk, make_batch):
    results = []
    for write in (write_one_by_one, write_in_bulk):
        before = marks()
        try:
            with transaction.atomic():
                instances, account_ids = make_batch()
                write(instances)
                results.append(written(before, account_ids))
                assert tamper.verify().findings == []
                raise Rollback
        except Rollback:
            pass
    return results


@pytest.mark.parametrize("actor", ["staff", ApiActor("mobile-app"), SystemActor("import")], ids=str)
def test_bulk_writes_the_rows_history_trail_and_digests_one_at_a_time_writes(actor, support_agent):
    actor = support_agent if actor == "staff" else actor
    existing = DataSubjectFactory(account_id="SX2000000")
    existing_address = AddressFactory(subject=existing, street="Chilonzor 5")
    reasons = [f"Reason {n}" for n in range(7)]
    events = [AuditEvent.SUBJECT_RECEIVED, AuditEvent.IMPORTED] * 3 + [AuditEvent.EDITED]

    def one_by_one(instances):
        for instance, reason, event in zip(instances, reasons, events, strict=True):
            if isinstance(instance, Address):
                instance.subject = instance.subject  # as subject_register does, once the subject has its id
            record_save(instance=instance, actor=actor, reason=reason, event=event)

    def in_bulk(instances):
        assert record_save_many(instances=instances, actor=actor, reason=reasons, event=events) == instances

    HistoricalRecords.context.request = RequestFactory().put("/api/v1/subjects/x", REMOTE_ADDR="10.20.30.40")
    try:
        one, bulk = run_both(one_by_one, in_bulk, lambda: a_batch(existing, existing_address))
    finally:
        del HistoricalRecords.context.request
    assert bulk == one
    # What the comparison covered: creates and updates of both models, with the actor and the address.
    assert [row["history_type"] for row in one["history"]["subjects.datasubject"]] == ["~", "+", "+"]
    assert [row["history_type"] for row in one["history"]["subjects.address"]] == ["+", "~", "+", "+"]
    assert {(e["username"], e["ip"]) for e in one["trail"]} == {(actor.get_username(), "10.20.30.40")}
    assert [e["event"] for e in one["trail"]] == events
    assert one["digests"] == {"audit_trailentry": 7, "subjects_historicaldatasubject": 3,
                              "subjects_historicaladdress": 4}
    assert one["subjects"][1]["account_id"] == "SX2000001" and one["subjects"][2]["phone"] == "+998907654321"


def test_the_saved_instances_are_the_stored_records():
    first = subject("SX2000001")
    home = address(first, "Amir Temur 1")
    record_save_many(instances=[first, home], actor=SystemActor("import"), reason="Back-fill",
                     event=AuditEvent.IMPORTED)
    assert first.pk and home.subject_id == first.pk and not first._state.adding
    first.full_name = "Aziz Karimov"
    record_save_many(instances=[first], actor=SystemActor("import"), reason="Back-fill", event=AuditEvent.IMPORTED)
    assert [row.history_type for row in first.history.order_by("history_id")] == ["+", "~"]
    assert DataSubject.objects.get(pk=first.pk).full_name == "Aziz Karimov"


def test_consent_ledger_rows_are_appended_with_digests():
    owner = DataSubjectFactory()
    # The state kept beside the ledger is its latest event (verify_audit checks it).
    consent = Consent(subject=owner, purpose=PurposeFactory(), state=Consent.State.GRANTED, channel=Channel.APP,
                      granted_at=WHEN + datetime.timedelta(2))
    record_save_many(instances=[consent], actor=ApiActor("mobile-app"), reason="App", event=AuditEvent.CONSENT_GRANTED)
    version = PolicyVersionFactory()
    events = [ConsentEvent(consent=consent, kind=ConsentEvent.Kind.GRANT, occurred_at=WHEN + datetime.timedelta(n),
                           channel=Channel.APP, policy_version=version) for n in range(3)]
    before = RowDigest.objects.count()
    assert append_many(rows=events) == events and all(event.pk for event in events)
    assert RowDigest.objects.count() == before + 3
    # The consents' bulk path (consents/intake.py) writes the consent report's figures beside its ledger
    # rows, in the same transaction; verify_audit holds them to the ledger, so this stand-in does too.
    figures.record_changes([(consent, [], events)])
    assert tamper.verify().findings == []


# --- refusals: nothing written --------------------------------------------------------------------------


def counts() -> tuple:
    return (DataSubject.objects.count(), Address.objects.count(), *(m.objects.count() for m in HISTORY),
            TrailEntry.objects.count(), RowDigest.objects.count())


def test_an_invalid_instance_is_named_by_index_and_nothing_is_written():
    before = counts()
    batch = [subject("SX2000001"), subject("SX2000002", name="x" * 201), subject("SX2000003")]
    with pytest.raises(BatchRefused) as refused:
        record_save_many(instances=batch, actor=SystemActor("import"), reason="Back-fill", event=AuditEvent.IMPORTED)
    assert refused.value.index == 1 and list(refused.value.errors) == [1]
    assert "full_name" in refused.value.message_dict
    assert isinstance(refused.value, ValidationError)
    assert counts() == before
    assert batch[0].pk is None


def test_an_account_id_taken_in_the_batch_or_in_the_database_is_refused():
    DataSubjectFactory(account_id="SX2000009")
    before = counts()
    batch = [subject("SX2000001"), subject("sx2000001"), subject("SX2000009")]
    with pytest.raises(BatchRefused) as refused:
        record_save_many(instances=batch, actor=None, reason="Back-fill", event=AuditEvent.IMPORTED)
    assert list(refused.value.errors) == [1, 2]
    assert all(error.error_dict["account_id"][0].code == "unique" for error in refused.value.errors.values())
    assert counts() == before


def test_a_row_the_database_refuses_is_named_and_the_batch_is_undone():
    """Check constraints are the database's: its refusal is traced back to the instance that broke one."""
    owner, purpose = DataSubjectFactory(), PurposeFactory()
    good = Consent(subject=owner, purpose=purpose, state=Consent.State.GRANTED, channel=Channel.APP, granted_at=WHEN)
    bad = Consent(subject=owner, purpose=PurposeFactory(), state=Consent.State.WITHDRAWN, channel=Channel.APP,
                  granted_at=WHEN)  # withdrawn without a date
    before = Consent.objects.count(), TrailEntry.objects.count()
    with pytest.raises(BatchRefused) as refused:
        record_save_many(instances=[good, bad], actor=None, reason="App", event=AuditEvent.CONSENT_GRANTED)
    assert list(refused.value.errors) == [1]
    assert (Consent.objects.count(), TrailEntry.objects.count()) == before
    assert good.pk is None and good._state.adding  # ready to be written again
    record_save_many(instances=[good], actor=None, reason="App", event=AuditEvent.CONSENT_GRANTED)
    assert Consent.objects.filter(pk=good.pk).exists()


def test_the_records_of_an_erased_subject_are_refused_unless_allowed():
    erased = DataSubjectFactory(status=DataSubject.Status.ANONYMISED)
    home = AddressFactory(subject=erased)
    home.street = "Back again 1"
    erased.full_name = "Back again"
    before = counts()
    with pytest.raises(BatchRefused) as refused:
        record_save_many(instances=[subject("SX2000001"), home, erased, address(erased, "New 2")], actor=None,
                         reason="Import", event=AuditEvent.IMPORTED)
    assert list(refused.value.errors) == [1, 2, 3]
    assert {error.code for error in refused.value.error_list} == {"erased"}
    assert counts() == before
    record_save_many(instances=[home], actor=None, reason="Correction", event=AuditEvent.REQUEST_CORRECTION,
                     allow_erased=True)
    assert Address.objects.get(pk=home.pk).street == "Back again 1"


def test_an_untyped_event_or_a_model_it_cannot_reproduce_is_refused_before_the_write():
    before = counts()
    with pytest.raises(ValueError, match="is not a valid AuditEvent"):
        record_save_many(instances=[subject("SX2000001")], actor=None, reason="x", event="subject.renamed")
    with pytest.raises(ImproperlyConfigured, match="append_many"):
        record_save_many(instances=[AccessEvent(action=AccessEvent.Action.EXPORT)], actor=None, reason="x",
                         event=AuditEvent.EDITED)
    with pytest.raises(ImproperlyConfigured, match="m2m history"):
        from shipex_privacy.consents.models import Cookie

        record_save_many(instances=[Cookie()], actor=None, reason="x", event=AuditEvent.EDITED)
    with pytest.raises(ImproperlyConfigured, match="not an append-only"):
        append_many(rows=[subject("SX2000001")])
    with pytest.raises(ValueError, match="twice"):
        same = DataSubjectFactory()
        record_save_many(instances=[same, DataSubject.objects.get(pk=same.pk)], actor=None, reason="x",
                         event=AuditEvent.EDITED)
    assert counts()[0] == before[0] + 1 and counts()[2:] == (before[2] + 1, before[3], before[4] + 1, before[5] + 2)


# --- cost: constant in the batch size --------------------------------------------------------------------


def large() -> int:
    """PostgreSQL takes any number of rows in one statement; SQLite's 999 parameters cap a statement's rows
    (Django splits a bulk statement then): there the large batch stays within one statement's rows."""
    return 100 if connection.vendor == "postgresql" else 25


def warm_up() -> None:
    """The first write of a table looks up its digest table and layout ids; the measured ones are alike."""
    record_save_many(instances=batch_of(1, 2_900_000, [DataSubjectFactory()]), actor=None, reason="x",
                     event=AuditEvent.IMPORTED, validate=False, allow_erased=True)
    append_many(rows=[AccessEvent(action=AccessEvent.Action.EXPORT)])


def batch_of(size: int, start: int, existing: list[DataSubject]) -> list:
    instances = []
    for n in range(size):
        new = subject(f"SX{start + n}")
        instances += [new, address(new, f"Street {n}")]
        old = existing[n]
        old.full_name = f"Renamed {n}"
        instances.append(old)
    return instances


@pytest.mark.parametrize("validate", [True, False])
def test_the_query_count_does_not_grow_with_the_batch(validate, django_assert_num_queries):
    if not hasattr(Address, "accepts_edits_many"):
        pytest.skip("subjects' models answer the erased-subject check one instance at a time "
                    "(no accepts_edits_many hook yet)")
    existing = [DataSubjectFactory() for _ in range(110)]
    warm_up()
    # DataSubject's own clean reads the catalogue per instance; Addresses and the write itself must not.
    small = batch_of(10, 3_000_000, existing[:10])
    for instance in small:
        if isinstance(instance, DataSubject):
            instance.clean_fields = lambda exclude=None: None
    with CaptureQueriesContext(connection) as queries:
        record_save_many(instances=small, actor=None, reason="x", event=AuditEvent.IMPORTED, validate=validate)
    big = batch_of(large(), 4_000_000, existing[10:])
    for instance in big:
        if isinstance(instance, DataSubject):
            instance.clean_fields = lambda exclude=None: None
    with django_assert_num_queries(len(queries)):
        record_save_many(instances=big, actor=None, reason="x", event=AuditEvent.IMPORTED, validate=validate)


def test_a_model_answers_the_erased_check_for_the_whole_batch_through_its_hook(monkeypatch,
                                                                              django_assert_num_queries):
    """The hook audit/bulk.py looks for (``accepts_edits_many``): one locking query for many instances."""
    calls = []

    def accepts_edits_many(cls, instances, *, lock):
        calls.append(lock)
        ids = sorted({instance.subject_id for instance in instances if instance.subject_id is not None})
        erased = set(DataSubject.objects.filter(pk__in=ids, status=DataSubject.Status.CLOSED)
                     .order_by("pk").select_for_update().values_list("pk", flat=True))
        return [instance.subject_id not in erased for instance in instances]

    monkeypatch.setattr(Address, "accepts_edits_many", classmethod(accepts_edits_many), raising=False)
    open_one, closed = DataSubjectFactory(), DataSubjectFactory(status=DataSubject.Status.CLOSED)
    batch = [address(open_one, f"Street {n}") for n in range(5)] + [address(closed, "Closed 1")]
    with pytest.raises(BatchRefused) as refused:
        record_save_many(instances=batch, actor=None, reason="x", event=AuditEvent.IMPORTED)
    assert list(refused.value.errors) == [5] and calls == [True]
    record_save_many(instances=batch[:5], actor=None, reason="x", event=AuditEvent.IMPORTED)
    assert open_one.addresses.count() == 5


def test_the_query_count_does_not_grow_with_the_batch_without_the_erased_check(django_assert_num_queries):
    existing = [DataSubjectFactory() for _ in range(110)]
    warm_up()
    with CaptureQueriesContext(connection) as queries:
        record_save_many(instances=batch_of(10, 3_000_000, existing[:10]), actor=None, reason="x",
                         event=AuditEvent.IMPORTED, validate=False, allow_erased=True)
    with django_assert_num_queries(len(queries)):
        record_save_many(instances=batch_of(large(), 4_000_000, existing[10:]), actor=None, reason="x",
                         event=AuditEvent.IMPORTED, validate=False, allow_erased=True)
    assert TrailEntry.objects.filter(reason="x").count() == 3 * (1 + 10 + large())
    assert tamper.verify().findings == []


def test_append_many_costs_the_same_for_ten_rows_as_for_a_hundred(django_assert_num_queries):
    def rows(size):
        return [AccessEvent(action=AccessEvent.Action.EXPORT, username="system:bench", at=timezone.now())
                for _ in range(size)]

    warm_up()
    with CaptureQueriesContext(connection) as queries:
        append_many(rows=rows(10))
    with django_assert_num_queries(len(queries)):
        append_many(rows=rows(large()))


@pytest.mark.parametrize("ip", [None, "10.0.0.1", "2001:DB8::1", "::ffff:10.0.0.1"])
def test_digests_of_appended_rows_verify_whatever_the_address_spelling(ip):
    # The digests come from the values copied in where the database gives them back unchanged; an
    # IPv6 address may come back in another spelling, so its batch is read back first.
    append_many(rows=[AccessEvent(action=AccessEvent.Action.EXPORT, username="system:bench", at=timezone.now(),
                                  ip=ip, subject_id=index) for index in range(3)])
    assert tamper.verify().findings == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no COPY; its rows are read back")
def test_rows_copied_in_are_digested_without_reading_them_back():
    warm_up()
    with CaptureQueriesContext(connection) as queries:
        append_many(rows=[AccessEvent(action=AccessEvent.Action.EXPORT, username="system:bench",
                                      at=timezone.now(), ip="10.0.0.1") for _ in range(20)])
    table = AccessEvent._meta.db_table
    assert not [q["sql"] for q in queries if q["sql"].startswith("SELECT") and f'FROM "{table}"' in q["sql"]]
    assert tamper.verify().findings == []


def test_a_batch_of_subjects_reads_the_catalogue_once_however_many_it_validates():
    def catalogue_reads(count: int, first: int) -> int:
        subjects = [subject(f"SX{first + n}") for n in range(count)]
        with CaptureQueriesContext(connection) as queries:
            record_save_many(instances=subjects, actor=SystemActor("test"), reason="Catalogue reads",
                             event=AuditEvent.IMPORTED)
        return sum('"catalogue_personaldatafield"' in query["sql"] for query in queries.captured_queries)

    few, many = catalogue_reads(2, 4100001), catalogue_reads(8, 4200001)
    assert few == many >= 1
    # Outside a batch each validation reads the catalogue as it is now.
    lone = subject("SX4300001", name="")
    with pytest.raises(ValidationError) as refused:
        lone.full_clean()
    assert "full_name" in refused.value.message_dict


def test_the_bulk_digest_of_many_rows_is_the_one_row_digest_of_each():
    values = [["Dilnoza", None, 7, True, False, WHEN, WHEN.date(), b"\x00\xff", ["contact.phone"], "", "ўзбек"],
              ["", 0, -1, False, True, datetime.datetime(2026, 1, 1, 5, tzinfo=datetime.timezone(
                  datetime.timedelta(hours=5))), datetime.date(2000, 1, 1), b"", {"b": 1, "a": [None]}, "x", "y"]]
    columns = [f"c{n:02}" for n in range(len(values[0]))]
    rows = [(10 + index, row) for index, row in enumerate(values)]
    assert tamper.row_macs(table="t", columns=columns, rows=rows) == [
        tamper.row_mac(table="t", row_id=row_id, columns=columns, values=row) for row_id, row in rows]


@pytest.mark.parametrize(("covered", "read_back"), [
    (["contact.phone", "identity.pinfl"], False), ({"codes": ["contact.phone"], "n": 2}, False),
    ([1.5, 100000.0], True),  # jsonb gives 100000.0 back as 100000: digested from what it reads back
])
def test_ledger_rows_with_json_are_digested_from_the_copied_value_where_jsonb_gives_it_back(covered, read_back):
    owner = DataSubjectFactory()
    consent = Consent(subject=owner, purpose=PurposeFactory(), state=Consent.State.GRANTED, channel=Channel.APP,
                      granted_at=WHEN)
    record_save_many(instances=[consent], actor=ApiActor("mobile-app"), reason="App", event=AuditEvent.CONSENT_GRANTED)
    rows = [ConsentEvent(consent=consent, kind=ConsentEvent.Kind.GRANT, occurred_at=WHEN, channel=Channel.APP,
                         policy_version=PolicyVersionFactory(), covered_data=covered)]
    warm_up()
    with CaptureQueriesContext(connection) as queries:
        append_many(rows=rows)
    table = ConsentEvent._meta.db_table
    reads = [q["sql"] for q in queries if q["sql"].startswith("SELECT") and f'FROM "{table}"' in q["sql"]]
    assert bool(reads) == (read_back or connection.vendor != "postgresql")  # SQLite reads every batch back
    figures.record_changes([(consent, [], rows)])
    assert tamper.verify().findings == []
