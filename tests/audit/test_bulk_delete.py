"""record_delete_many writes what a loop of record_delete writes: the same "-" history rows, trail and digests."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import Max
from django.test.utils import CaptureQueriesContext
from factory.random import reseed_random

from shipex_privacy.audit import tamper
from shipex_privacy.audit.bulk import BatchRefused, can_delete_many, record_delete_many
from shipex_privacy.audit.events import AuditEvent, SystemActor
from shipex_privacy.audit.models import RowDigest, TrailEntry
from shipex_privacy.audit.services import record_delete, record_save
from shipex_privacy.subjects.models import Address, DataSubject
from tests.subjects.factories import AddressFactory, DataSubjectFactory

pytestmark = pytest.mark.django_db

ACTOR = SystemActor("retention")
HISTORY = Address.history.model


class Rollback(Exception):
    pass


def deleted_rows(write) -> dict:
    """What one way of deleting three addresses of two subjects leaves behind, named by content, not by id."""
    result = {}
    reseed_random("bulk delete")  # both ways delete the same generated rows
    try:
        with transaction.atomic():
            first, second = DataSubjectFactory(account_id="SX3000001"), DataSubjectFactory(account_id="SX3000002")
            addresses = [AddressFactory(subject=first, street="Amir Temur 1"),
                         AddressFactory(subject=second, street="Navoiy 7"),
                         AddressFactory(subject=first, street="Bobur 12", landmark="Mega Planet")]
            kept = AddressFactory(subject=second, street="Chilonzor 5")
            top = {model: model.objects.aggregate(top=Max(key))["top"] or 0
                   for model, key in ((HISTORY, "history_id"), (TrailEntry, "id"), (RowDigest, "id"))}
            owners = {a.pk: a.subject.account_id for a in addresses}
            write(addresses)
            assert [a.pk for a in addresses] == [None, None, None]
            skip = {"history_id", "history_date", "id", "subject_id", "created_at"}  # differ between the runs
            result["history"] = [
                {**{f.attname: getattr(row, f.attname) for f in HISTORY._meta.concrete_fields if f.attname not in skip},
                 "owner": owners[row.id]}
                for row in HISTORY.objects.filter(history_id__gt=top[HISTORY]).order_by("history_id")]
            result["trail"] = [
                (entry.action, entry.model, entry.username, entry.reason, entry.event, entry.history_table,
                 owners[int(entry.object_id)], DataSubject.objects.get(pk=entry.subject_id).account_id)
                for entry in TrailEntry.objects.filter(id__gt=top[TrailEntry]).order_by("id")]
            result["digests"] = RowDigest.objects.filter(id__gt=top[RowDigest]).count()
            result["left"] = list(Address.objects.filter(subject__account_id__in=["SX3000001", "SX3000002"])
                                  .values_list("street", flat=True))
            assert kept.street in result["left"]
            assert tamper.verify().findings == []
            raise Rollback
    except Rollback:
        pass
    return result


def test_bulk_delete_writes_what_one_delete_at_a_time_writes():
    reasons = ["Retention: address kept 3 years", "Retention: address kept 3 years", "DSR #7: erasure"]
    events = [AuditEvent.RETENTION_APPLIED, AuditEvent.RETENTION_APPLIED, AuditEvent.ERASURE]

    def one_by_one(addresses):
        for address, reason, event in zip(addresses, reasons, events, strict=True):
            record_delete(instance=address, actor=ACTOR, reason=reason, event=event)

    def in_bulk(addresses):
        record_delete_many(instances=addresses, actor=ACTOR, reason=reasons, event=events)

    one, bulk = deleted_rows(one_by_one), deleted_rows(in_bulk)
    assert bulk == one
    # What the comparison covered: three "-" rows with the last state, each with its entry and two digests.
    assert [row["history_type"] for row in one["history"]] == ["-", "-", "-"]
    assert [row["landmark"] for row in one["history"]][2] == "Mega Planet"
    assert [entry[4] for entry in one["trail"]] == events
    assert one["digests"] == 6 and one["left"] == ["Chilonzor 5"]


def test_a_model_others_point_to_is_refused_and_nothing_is_written():
    subject = DataSubjectFactory()
    AddressFactory(subject=subject)
    assert not can_delete_many(DataSubject) and can_delete_many(Address)
    entries = TrailEntry.objects.count()
    with pytest.raises(ImproperlyConfigured, match="point to it"):
        record_delete_many(instances=[subject], actor=ACTOR, reason="x", event=AuditEvent.RETENTION_APPLIED)
    assert DataSubject.objects.filter(pk=subject.pk).exists() and TrailEntry.objects.count() == entries


def test_the_rows_of_an_erased_subject_are_refused_unless_allowed():
    subject = DataSubjectFactory()
    address = AddressFactory(subject=subject)
    subject.status = DataSubject.Status.ANONYMISED
    record_save(instance=subject, actor=ACTOR, reason="Erasure", event=AuditEvent.ERASURE, allow_erased=True)
    with pytest.raises(BatchRefused):
        record_delete_many(instances=[address], actor=ACTOR, reason="x", event=AuditEvent.RETENTION_APPLIED)
    assert Address.objects.filter(pk=address.pk).exists()
    record_delete_many(instances=[address], actor=ACTOR, reason="Erasure", event=AuditEvent.ERASURE,
                       allow_erased=True)
    assert not Address.objects.filter(subject=subject).exists()


def test_the_query_count_does_not_grow_with_the_batch(django_assert_num_queries):
    subject = DataSubjectFactory()
    few = [AddressFactory(subject=subject) for _ in range(2)]
    many = [AddressFactory(subject=subject) for _ in range(30)]
    record_delete_many(instances=[AddressFactory(subject=subject)], actor=ACTOR, reason="warm up",
                       event=AuditEvent.RETENTION_APPLIED)  # the digest tables' ids, looked up once
    with CaptureQueriesContext(connection) as queries:
        record_delete_many(instances=few, actor=ACTOR, reason="x", event=AuditEvent.RETENTION_APPLIED)
    with django_assert_num_queries(len(queries)):
        record_delete_many(instances=many, actor=ACTOR, reason="x", event=AuditEvent.RETENTION_APPLIED)
    assert not Address.objects.filter(subject=subject).exists()
    assert tamper.verify().findings == []
