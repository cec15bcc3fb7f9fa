"""History and access logs are tamper-evident: verify_audit names every row changed, removed or
inserted behind the application's back, by table and id, and exits non-zero."""

import datetime
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.test import RequestFactory, override_settings
from django.utils import timezone

from shipex_privacy.audit import tamper
from shipex_privacy.audit.access import access_record
from shipex_privacy.audit.guards import guarded_operations, install_append_only_guards, remove_append_only_guards
from shipex_privacy.audit.models import AccessEvent, AuditedTable, RowDigest, RowLayout, Seal
from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.models import PersonalDataField, Purpose
from shipex_privacy.subjects.models import Address, DataSubject
from tests.owner import owner_connection
from tests.subjects.factories import AddressFactory, DataSubjectFactory

SUBJECT_HISTORY = DataSubject.history.model._meta.db_table
ADDRESS_HISTORY = Address.history.model._meta.db_table
PURPOSES_HISTORY = "catalogue_historicalpersonaldatafield_purposes"
ACCESS_LOG = AccessEvent._meta.db_table


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def as_database_owner(sql: str, params=()) -> None:
    """Tamper the way the owner of the database could: lift the guards, write, put them back.

    With split roles (CI) the app role cannot lift a guard: the test database's owner does it,
    inside the test's transaction (tests/owner.py).
    """
    owner = owner_connection()
    remove_append_only_guards(owner)
    try:
        # A test's own raw SQL, on purpose: this is the attack verify_audit must catch.
        with owner.cursor() as cursor:
            cursor.execute(sql, params)
    finally:
        install_append_only_guards(owner)


def copy_row(model, row_id) -> int:
    """Insert a copy of one row under a new id, as an attacker with write access could."""
    columns = [field.column for field in model._meta.concrete_fields if not field.primary_key]
    listed = ", ".join(quote(column) for column in columns)
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    as_database_owner(f"INSERT INTO {table} ({listed}) SELECT {listed} FROM {table} WHERE {pk} = %s", [row_id])
    return model._base_manager.order_by("-pk").values_list("pk", flat=True).first()


def run_verify(**options) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("verify_audit", stdout=out, stderr=StringIO(), **options)
    except CommandError as error:
        return 1, out.getvalue() + str(error)
    return 0, out.getvalue()


def findings() -> set[tuple[str, int, str]]:
    """(table, id, first word of the problem) of every finding."""
    return {(f.table, f.row_id, f.problem.split(":")[0].split(" ")[0]) for f in tamper.verify().findings}


def seal_everything() -> None:
    call_command("seal_audit", settle_seconds=0, batch_size=7, stdout=StringIO())


@pytest.fixture
def reader(support_agent):
    request = RequestFactory().get("/admin/", REMOTE_ADDR="10.0.0.9")
    request.user = support_agent
    return request


@pytest.fixture
def record(reader, support_agent, compliance_officer):
    """A little of everything: subject and address history, m2m history, reads."""
    subjects = DataSubjectFactory.create_batch(3)
    for subject in subjects:
        AddressFactory(subject=subject)
        subject.full_name = f"{subject.full_name} (corrected)"
        record_save(instance=subject, actor=support_agent, reason="DSR #1: name corrected")
        access_record(request=reader, action=AccessEvent.Action.SUBJECT_VIEW, obj=subject, subject_id=subject.pk)
    field = PersonalDataField.objects.get(code="contact.email")
    field.purposes.add(Purpose.objects.get(clause="1.3.2.4"))  # an m2m history row set
    access_record(request=reader, action=AccessEvent.Action.SUBJECT_SEARCH, search_term="90 123 45 67")
    return subjects


def history_ids(subject) -> list[int]:
    return list(DataSubject.history.filter(id=subject.pk).order_by("history_id").values_list("history_id", flat=True))


@pytest.mark.django_db
def test_an_untouched_record_verifies_clean(record):
    code, output = run_verify()
    assert code == 0, output
    assert "The audit record verifies" in output
    seal_everything()
    code, output = run_verify()
    assert code == 0, output
    assert "0 digests not sealed yet" in output


@pytest.mark.django_db
def test_every_append_only_row_gets_a_digest_in_the_same_transaction(record, reader):
    history_row = DataSubject.history.filter(id=record[0].pk).latest()
    assert RowDigest.objects.filter(table__name=SUBJECT_HISTORY, row_id=history_row.history_id).exists()
    assert RowDigest.objects.filter(table__name=PURPOSES_HISTORY).exists()
    with transaction.atomic():
        event = access_record(request=reader, action=AccessEvent.Action.EXPORT, detail="rolled back")
        assert RowDigest.objects.filter(table__name=ACCESS_LOG, row_id=event.pk).exists()
        transaction.set_rollback(True)
    assert not RowDigest.objects.filter(table__name=ACCESS_LOG, row_id=event.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("sealed", [False, True], ids=["unsealed", "sealed"])
def test_one_row_edited_one_removed_one_inserted_are_named_exactly(record, sealed):
    if sealed:
        seal_everything()
    edited, removed = history_ids(record[0])[0], history_ids(record[1])[1]
    as_database_owner(f"UPDATE {SUBJECT_HISTORY} SET full_name = %s WHERE history_id = %s", ["Someone else", edited])
    as_database_owner(f"DELETE FROM {SUBJECT_HISTORY} WHERE history_id = %s", [removed])
    inserted = copy_row(DataSubject.history.model, history_ids(record[2])[0])

    assert findings() == {
        (SUBJECT_HISTORY, edited, "changed"),
        (SUBJECT_HISTORY, removed, "removed"),
        (SUBJECT_HISTORY, inserted, "inserted"),
    }
    code, output = run_verify()
    assert code == 1
    assert f"{SUBJECT_HISTORY} id={edited}: changed" in output
    assert f"{SUBJECT_HISTORY} id={removed}: removed" in output
    assert f"{SUBJECT_HISTORY} id={inserted}: inserted behind the application's back" in output
    assert "3 problem(s) found" in output


@pytest.mark.django_db
def test_tampering_with_the_access_log_is_named(record):
    events = list(AccessEvent.objects.order_by("id").values_list("id", flat=True))
    as_database_owner(f"UPDATE {ACCESS_LOG} SET username = 'nobody' WHERE id = %s", [events[0]])
    as_database_owner(f"DELETE FROM {ACCESS_LOG} WHERE id = %s", [events[1]])
    inserted = copy_row(AccessEvent, events[2])
    assert findings() == {
        (ACCESS_LOG, events[0], "changed"), (ACCESS_LOG, events[1], "removed"), (ACCESS_LOG, inserted, "inserted"),
    }


@pytest.mark.django_db
def test_tampering_with_the_m2m_history_and_other_history_tables_is_named(record):
    link = tamper.digested_models()  # every append-only table is covered, the m2m history included
    assert {model._meta.db_table for model in link} >= {SUBJECT_HISTORY, ADDRESS_HISTORY, PURPOSES_HISTORY, ACCESS_LOG}
    purposes_history = next(model for model in link if model._meta.db_table == PURPOSES_HISTORY)
    m2m_row = purposes_history._base_manager.order_by("-pk").values_list("pk", flat=True).first()
    address_row = Address.history.order_by("-history_id").values_list("history_id", flat=True).first()
    as_database_owner(f"UPDATE {PURPOSES_HISTORY} SET purpose_id = purpose_id + 1 WHERE m2m_history_id = %s",
                      [m2m_row])
    as_database_owner(f"UPDATE {ADDRESS_HISTORY} SET street = 'Elsewhere' WHERE history_id = %s", [address_row])
    assert findings() == {(PURPOSES_HISTORY, m2m_row, "changed"), (ADDRESS_HISTORY, address_row, "changed")}


@pytest.mark.django_db
def test_a_row_removed_together_with_its_digest_is_named_by_the_seal(record):
    seal_everything()
    target = history_ids(record[0])[-1]
    table_id = AuditedTable.objects.get(name=SUBJECT_HISTORY).pk
    as_database_owner(f"DELETE FROM {SUBJECT_HISTORY} WHERE history_id = %s", [target])
    as_database_owner("DELETE FROM audit_rowdigest WHERE table_id = %s AND row_id = %s", [table_id, target])
    assert findings() == {(SUBJECT_HISTORY, target, "removed")}
    [finding] = tamper.verify().findings
    assert "together with its digest" in finding.problem


@pytest.mark.django_db
def test_a_removed_digest_of_a_sealed_row_is_named(record):
    seal_everything()
    target = history_ids(record[1])[0]
    table_id = AuditedTable.objects.get(name=SUBJECT_HISTORY).pk
    as_database_owner("DELETE FROM audit_rowdigest WHERE table_id = %s AND row_id = %s", [table_id, target])
    [finding] = tamper.verify().findings
    assert (finding.table, finding.row_id) == (SUBJECT_HISTORY, target)
    assert "digest was removed" in finding.problem


@pytest.mark.django_db
def test_a_forged_digest_does_not_make_an_inserted_row_pass(record):
    inserted = copy_row(DataSubject.history.model, history_ids(record[0])[0])
    digest = RowDigest.objects.filter(table__name=SUBJECT_HISTORY).first()
    # Without the key the attacker can only copy a MAC from elsewhere; it binds another row.
    as_database_owner(
        "INSERT INTO audit_rowdigest (table_id, row_id, layout_id, mac, created_at) VALUES (%s, %s, %s, %s, %s)",
        [digest.table_id, inserted, digest.layout_id, bytes(digest.mac), timezone.now()],
    )
    assert findings() == {(SUBJECT_HISTORY, inserted, "changed")}


@pytest.mark.django_db
def test_another_key_verifies_nothing(record):
    with override_settings(AUDIT_SEAL_KEY="an-attacker-guess-of-the-key-000000"):
        assert all(finding.problem.startswith("changed") for finding in tamper.verify().findings)
        assert len(tamper.verify().findings) == tamper.verify().rows_checked


@pytest.mark.django_db
def test_the_seal_chain_names_a_removed_or_edited_seal(record):
    seal_everything()
    seals = list(Seal.objects.order_by("id").values_list("id", flat=True))
    assert len(seals) >= 3
    as_database_owner("UPDATE audit_seal SET digest_count = digest_count - 1 WHERE id = %s", [seals[0]])
    as_database_owner("DELETE FROM audit_seal WHERE id = %s", [seals[1]])
    assert findings() == {("audit_seal", seals[0], "seal"), ("audit_seal", seals[2], "seal")}
    problems = {finding.row_id: finding.problem for finding in tamper.verify().findings}
    assert "MAC does not match" in problems[seals[0]]
    assert "chain broken" in problems[seals[2]]


@pytest.mark.django_db
def test_removing_the_newest_seal_is_caught_with_the_head_kept_elsewhere(record):
    out = StringIO()
    call_command("seal_audit", settle_seconds=0, stdout=out)
    head = out.getvalue().split("Chain head: ")[1].split()[2]
    assert run_verify(head=head)[0] == 0
    as_database_owner("DELETE FROM audit_seal WHERE mac = %s", [head])
    code, output = run_verify(head=head)
    assert code == 1
    assert "no longer in the chain" in output


@pytest.mark.django_db
def test_empty_tables_never_digested_are_passed_over_and_nothing_else_is(record, monkeypatch):
    """verify reads every table that holds rows or ever had digests; passing over the rest finds
    exactly what reading every table finds, a row planted behind the application's back included."""
    inserted = copy_row(DataSubject.history.model, history_ids(record[2])[0])
    read, real = [], tamper._verify_table

    def spy(model, *args, **kwargs):
        read.append(model._meta.db_table)
        return real(model, *args, **kwargs)

    monkeypatch.setattr(tamper, "_verify_table", spy)
    quick = tamper.verify()
    quick_read = set(read)
    assert (SUBJECT_HISTORY, inserted, str(tamper.INSERTED)) in {(f.table, f.row_id, f.problem)
                                                                  for f in quick.findings}
    monkeypatch.setattr(tamper, "_tables_holding_rows", lambda alias, tables: set(tables))
    read.clear()
    full = tamper.verify()
    assert quick_read < set(read)  # some audited tables are empty and were never digested
    assert quick.findings == full.findings and quick.rows_checked == full.rows_checked


@pytest.mark.django_db
def test_verifying_in_small_batches_finds_the_same(record):
    seal_everything()
    ids = history_ids(record[1])
    as_database_owner(f"DELETE FROM {SUBJECT_HISTORY} WHERE history_id = %s", [ids[0]])
    as_database_owner(f"UPDATE {SUBJECT_HISTORY} SET email = 'x@y.uz' WHERE history_id = %s", [ids[1]])
    expected = {(f.table, f.row_id, f.problem) for f in tamper.verify(batch_size=2000).findings}
    for batch_size in (1, 2, 3):
        assert {(f.table, f.row_id, f.problem) for f in tamper.verify(batch_size=batch_size).findings} == expected
    assert len(expected) == 2


@pytest.mark.django_db
def test_seals_leave_fresh_digests_for_the_next_run(record, reader):
    seal_everything()
    access_record(request=reader, action=AccessEvent.Action.SUBJECT_VIEW, obj=record[0], subject_id=record[0].pk)
    out = StringIO()
    call_command("seal_audit", stdout=out)  # the default settle time keeps it for later
    assert "Nothing to seal." in out.getvalue()
    assert tamper.verify().unsealed_digests == 1
    assert tamper.seal_next(settled_before=timezone.now() + datetime.timedelta(seconds=1)).digest_count == 1


@pytest.mark.django_db
def test_bad_options_are_refused_clearly():
    with pytest.raises(CommandError, match="batch-size"):
        call_command("verify_audit", batch_size=0)
    with pytest.raises(CommandError, match="batch-size"):
        call_command("seal_audit", batch_size=0)
    with pytest.raises(CommandError, match="settle-seconds"):
        call_command("seal_audit", settle_seconds=-1)


@pytest.mark.django_db
def test_a_column_added_later_does_not_break_old_digests_and_a_dropped_one_is_named(record):
    """Digests cover the columns their layout names, so a migration adding a column leaves them valid."""
    row_id = history_ids(record[0])[0]
    model = DataSubject.history.model
    table_id = AuditedTable.objects.get(name=SUBJECT_HISTORY).pk
    columns = tamper._columns(model)
    row = model._base_manager.filter(pk=row_id).values_list(*(attname for _c, attname in columns)).get()
    values = dict(zip((column for column, _a in columns), row, strict=True))
    older = {column: value for column, value in values.items() if column != "history_ip"}
    layout = RowLayout.objects.create(table_id=table_id, columns=",".join(sorted(older)))
    mac = tamper.row_mac(table=SUBJECT_HISTORY, row_id=row_id, columns=sorted(older),
                         values=[older[c] for c in sorted(older)])
    as_database_owner("DELETE FROM audit_rowdigest WHERE table_id = %s AND row_id = %s", [table_id, row_id])
    RowDigest.objects.create(table_id=table_id, row_id=row_id, layout=layout, mac=mac)
    assert findings() == set()

    gone = RowLayout.objects.create(table_id=table_id, columns=",".join(sorted([*older, "nickname"])))
    as_database_owner("UPDATE audit_rowdigest SET layout_id = %s WHERE table_id = %s AND row_id = %s",
                      [gone.pk, table_id, row_id])
    [finding] = tamper.verify().findings
    assert (finding.row_id, finding.problem) == (row_id, "cannot be verified: column nickname no longer exists")


@pytest.mark.django_db
def test_the_evidence_tables_are_append_only_too():
    guarded = guarded_operations(connection)
    for model in (AccessEvent, RowDigest, Seal, AuditedTable, RowLayout):
        assert {"UPDATE", "DELETE"} <= guarded[model._meta.db_table], model


@pytest.mark.django_db(transaction=True)
def test_a_migrate_digests_the_rows_its_data_migrations_wrote_but_launders_no_planted_row():
    tamper.remember_rows_before_migrate(sender=None, using="default")
    # A data migration writes history with the migration state's models, which send no signals.
    state = MigrationLoader(connection).project_state().apps
    now = timezone.now()
    written = state.get_model("subjects", "HistoricalDataSubject").objects.create(
        id=990001, account_id="SX9900001", registered_at=now, history_date=now, history_type="+",
        history_change_reason="Data migration",
    )
    assert (SUBJECT_HISTORY, written.pk, "inserted") in findings()
    tamper.digest_rows_written_by_migrate(sender=None, using="default")  # the end of that migrate run
    assert findings() == set()

    planted = copy_row(DataSubject.history.model, written.pk)
    call_command("migrate", verbosity=0)  # a deploy after the attack does not adopt the planted row
    assert findings() == {(SUBJECT_HISTORY, planted, "inserted")}


@pytest.mark.django_db
def test_a_history_row_saved_outside_a_migration_state_gets_its_digest_on_both_databases(support_agent):
    subject = DataSubjectFactory()
    digest = RowDigest.objects.get(table__name=SUBJECT_HISTORY, row_id=subject.history.get().history_id)
    assert len(bytes(digest.mac)) == 32
    assert digest.layout.columns.split(",") == sorted(f.column for f in DataSubject.history.model._meta.concrete_fields)


# Production refuses to start without a real seal key.

PROJECT = Path(__file__).resolve().parents[2]
STRONG_SECRET = "k" * 20 + "-production-key-from-the-secret-store-" + "x" * 20
STRONG_SEAL = "s" * 16 + "-seal-key-from-the-secret-store-" + "y" * 16


def start_production(**env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "AUDIT_"))}
    environment.update(DJANGO_SETTINGS_MODULE="config.settings.production", DJANGO_ALLOWED_HOSTS="privacy.shipex.uz",
                       DJANGO_SECRET_KEY=STRONG_SECRET, DATABASE_URL="postgres://shipex@db.example/shipex", **env)
    return subprocess.run(  # our own interpreter and settings
        [sys.executable, "-c", "import django; django.setup()"], cwd=PROJECT, env=environment,
        capture_output=True, text=True, timeout=60, check=False,
    )


@pytest.mark.parametrize(
    "key", [None, "", "local-development-only-audit-seal-key", "test-suite-only-audit-seal-key", "short", STRONG_SECRET]
)
def test_production_refuses_to_start_without_a_real_seal_key(key):
    result = start_production(**({} if key is None else {"AUDIT_SEAL_KEY": key}))
    assert result.returncode != 0
    assert "AUDIT_SEAL_KEY must be set" in result.stderr


def test_production_starts_with_a_real_seal_key():
    result = start_production(AUDIT_SEAL_KEY=STRONG_SEAL)
    assert result.returncode == 0, result.stderr


# Sent disclosures and the consent state are under verify_audit too (issue 10, item 5).

DISCLOSURE = "disclosures_disclosure"
DISCLOSED_SUBJECT = "disclosures_disclosedsubject"
CONSENT = "consents_consent"


def with_freeze_lifted(sql: str, params=()) -> None:
    """What the owner could do to a sent disclosure: lift its freeze, write, put the freeze back."""
    from shipex_privacy.core.freeze import install_freeze_guards, remove_freeze_guards

    owner = owner_connection()
    remove_freeze_guards(owner)
    try:
        with owner.cursor() as cursor:
            cursor.execute(sql, params)
    finally:
        install_freeze_guards(owner)


@pytest.fixture
def sent_disclosure(compliance_officer):
    from tests.accounts.factories import StaffFactory
    from tests.disclosures.test_workflow import sent

    approver = StaffFactory(username="malika", role=compliance_officer.groups.first().name)
    return sent(compliance_officer, approver, DataSubjectFactory.create_batch(2), notify=True)


@pytest.mark.django_db
def test_an_untouched_sent_disclosure_and_its_notification_verify_clean(sent_disclosure, compliance_officer):
    from shipex_privacy.disclosures.services import notification_mark_sent

    row = sent_disclosure.disclosed_subjects.first()
    notification_mark_sent(disclosed=row, channel="sms", at=timezone.now(), actor=compliance_officer)
    assert tamper.verify().findings == []


@pytest.mark.django_db
def test_a_sent_disclosure_changed_behind_the_back_is_named(sent_disclosure):
    rows = list(sent_disclosure.disclosed_subjects.order_by("id").values_list("id", flat=True))
    email = PersonalDataField.objects.get(code="contact.email").pk
    with_freeze_lifted(f"UPDATE {DISCLOSURE} SET record_count = 99 WHERE id = %s", [sent_disclosure.pk])
    with_freeze_lifted(f"DELETE FROM {DISCLOSED_SUBJECT} WHERE id = %s", [rows[0]])
    with_freeze_lifted(f"INSERT INTO {DISCLOSURE}_fields (disclosure_id, personaldatafield_id) VALUES (%s, %s)",
                       [sent_disclosure.pk, email])
    # The freeze lets a notification be filled in once; written behind the back it has no history.
    with_freeze_lifted(f"UPDATE {DISCLOSED_SUBJECT} SET notified_at = %s, notification_channel = 'sms' "
                       "WHERE id = %s", [timezone.now(), rows[1]])
    assert {(f.table, f.row_id, f.problem) for f in tamper.verify().findings} == {
        (DISCLOSURE, sent_disclosure.pk, "frozen record changed: record_count differ from its history"),
        (DISCLOSURE, sent_disclosure.pk, f"fields of frozen record changed behind the application's back: +{email}"),
        (DISCLOSED_SUBJECT, rows[0], "frozen record removed: its history shows it frozen and not deleted"),
        (DISCLOSED_SUBJECT, rows[1], "frozen record changed: notified_at, notification_channel differ from its "
                                     "history"),
    }
    code, output = run_verify()
    assert code == 1
    assert f"{DISCLOSURE} id={sent_disclosure.pk}: frozen record changed" in output
    assert "4 problem(s) found" in output


@pytest.mark.django_db
def test_a_sent_disclosure_removed_or_planted_is_named(sent_disclosure, compliance_officer):
    rows = list(sent_disclosure.disclosed_subjects.values_list("id", flat=True))
    with_freeze_lifted(f"DELETE FROM {DISCLOSED_SUBJECT} WHERE disclosure_id = %s", [sent_disclosure.pk])
    with_freeze_lifted(f"DELETE FROM {DISCLOSURE}_fields WHERE disclosure_id = %s", [sent_disclosure.pk])
    export = sent_disclosure.export.pk  # its file's row points to it; gone with it
    with_freeze_lifted("DELETE FROM disclosures_disclosureexport WHERE id = %s", [export])
    with_freeze_lifted(f"DELETE FROM {DISCLOSURE} WHERE id = %s", [sent_disclosure.pk])
    planted = copy_row_frozen(sent_disclosure.pk)  # after the delete: a sent disclosure with no history
    found = {(f.table, f.row_id, f.problem.split(":")[0]) for f in tamper.verify().findings}
    subject_rows = {(DISCLOSED_SUBJECT, row_id, "frozen record removed") for row_id in rows}
    assert found == {
        (DISCLOSURE, sent_disclosure.pk, "frozen record removed"),
        (DISCLOSURE, sent_disclosure.pk, "fields of frozen record changed behind the application's back"),
        (DISCLOSURE, planted, "frozen record without history"),
    } | subject_rows


@pytest.mark.django_db
def test_a_sent_disclosure_unfrozen_or_its_subject_moved_away_is_named(sent_disclosure, compliance_officer):
    from tests.disclosures.test_workflow import court_order

    draft = court_order(compliance_officer, [DataSubjectFactory()])
    moved = sent_disclosure.disclosed_subjects.order_by("id").first().pk
    with_freeze_lifted(f"UPDATE {DISCLOSED_SUBJECT} SET disclosure_id = %s WHERE id = %s", [draft.pk, moved])
    with_freeze_lifted(f"UPDATE {DISCLOSURE} SET sent_at = NULL, status = 'approved' WHERE id = %s",
                       [sent_disclosure.pk])
    assert {(f.table, f.row_id, f.problem) for f in tamper.verify().findings} == {
        (DISCLOSURE, sent_disclosure.pk, "frozen record changed: status, sent_at differ from its history"),
        (DISCLOSED_SUBJECT, moved, "frozen record changed: disclosure_id differ from its history"),
    }


def copy_row_frozen(row_id: int) -> int:
    from shipex_privacy.disclosures.models import Disclosure

    columns = [field.column for field in Disclosure._meta.concrete_fields if not field.primary_key]
    listed = ", ".join(quote(column) for column in columns)
    with connection.cursor() as cursor:  # inserting a sent row is not refused; verify names it
        cursor.execute(
            f"INSERT INTO {DISCLOSURE} ({listed}) SELECT {listed} FROM disclosures_historicaldisclosure "
            "WHERE id = %s ORDER BY history_id DESC LIMIT 1", [row_id])
    return Disclosure.objects.order_by("-pk").values_list("pk", flat=True).first()


@pytest.fixture
def withdrawn_consent(support_agent):
    from shipex_privacy.consents.services import Evidence, consent_grant, consent_withdraw
    from tests.consents.factories import PolicyVersionFactory

    app = Evidence(channel="app", ip_address="213.230.10.20", user_agent="ShipEx/5.2 (Android 14)")
    now = timezone.now()
    event = consent_grant(subject=DataSubjectFactory(), purpose=Purpose.objects.get(clause="1.3.2.5"),
                          occurred_at=now - datetime.timedelta(days=30), evidence=app,
                          policy_version=PolicyVersionFactory(published=True), actor=support_agent)
    consent_withdraw(consent=event.consent, occurred_at=now - datetime.timedelta(days=2), evidence=app,
                     actor=support_agent)
    return event.consent


@pytest.mark.django_db
def test_a_consent_state_that_disagrees_with_its_ledger_is_named(withdrawn_consent):
    assert tamper.verify().findings == []
    # No guard stops this one (the state is a working table); the ledger is the evidence.
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {CONSENT} SET state = 'granted', withdrawn_at = NULL WHERE id = %s",
                       [withdrawn_consent.pk])
    [finding] = tamper.verify().findings
    assert (finding.table, finding.row_id) == (CONSENT, withdrawn_consent.pk)
    assert finding.problem == ("consent state disagrees with the consent ledger's latest event (withdraw): "
                               "state, withdrawn_at")
    code, output = run_verify()
    assert code == 1
    assert f"{CONSENT} id={withdrawn_consent.pk}: consent state disagrees" in output


@pytest.mark.django_db
def test_a_consent_state_without_any_ledger_event_is_named(withdrawn_consent):
    columns = [f.column for f in withdrawn_consent._meta.concrete_fields if f.column not in ("id", "recipient_kind")]
    listed = ", ".join(quote(column) for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {CONSENT} ({listed}, recipient_kind) SELECT {listed}, 'research_partner' "
                       f"FROM {CONSENT} WHERE id = %s", [withdrawn_consent.pk])
    planted = withdrawn_consent._meta.model.objects.order_by("-pk").values_list("pk", flat=True).first()
    assert {(f.table, f.row_id, f.problem) for f in tamper.verify().findings} == {
        (CONSENT, planted, "consent state without any event in the consent ledger")}
