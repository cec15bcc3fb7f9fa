"""Agents find a subject by the start of the name, however it is typed (issue 13), with a prefix
lookup on an indexed search key that every write keeps in step with the name."""

import pytest
from django.db import connection, transaction
from django.urls import reverse

from shipex_privacy.audit.access import search_term_hash
from shipex_privacy.audit.events import ApiActor, AuditEvent
from shipex_privacy.audit.models import AccessEvent
from shipex_privacy.audit.services import record_save
from shipex_privacy.catalogue.models import PersonalDataField
from shipex_privacy.core.names import name_search_key
from shipex_privacy.retention import erasing
from shipex_privacy.subjects.intake import SubjectRules
from shipex_privacy.subjects.models import DataSubject
from shipex_privacy.subjects.services import subjects_upsert_many
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ogiloy():
    DataSubjectFactory(full_name="Xudoyorov Anvar Karimovich")
    DataSubjectFactory(full_name="Qodirova Malika Rustamovna")
    return DataSubjectFactory(full_name="Xudoyberdiyeva Oʻgʻiloy Rustamovna")


@pytest.mark.parametrize("term", [
    "Xudoyberdiyeva", "xudoyb", "XUDOYBERDIYEVA O", "Xudoyberdiyeva Oʻgʻiloy", "Xudoyberdiyeva O'g'iloy",
    "xudoyberdiyeva og", "Худойбердийева", "Xudoyberdiyéva",
    "Oʻgʻiloy Xudoyberdiyeva",  # first name first
    "  xudoyberdiyeva   o‘g‘iloy  ",
])
def test_a_subject_is_found_by_the_start_of_the_name_typed_any_way(ogiloy, term):
    assert list(DataSubject.objects.search(by_name=True, term=term)) == [ogiloy]


@pytest.mark.parametrize("term", ["Xu", "x", "Rustamovna", "iloy", "Xudoyberdiyeva Malika", "' ` ʻ", "12"])
def test_a_short_term_or_the_middle_of_a_name_finds_nobody(ogiloy, term):
    assert not DataSubject.objects.search(by_name=True, term=term).exists()


def test_a_common_start_finds_every_subject_it_starts(ogiloy):
    found = DataSubject.objects.search("Xudoy", by_name=True)
    assert set(found) == set(DataSubject.objects.filter(full_name__startswith="Xudoy"))
    assert found.count() == 2


def test_the_key_follows_the_name_on_every_audited_save_and_is_in_its_history(ogiloy, support_agent):
    ogiloy.full_name = "Ismoilova Gʻulnora"
    record_save(instance=ogiloy, actor=support_agent, reason="DSR #7: the subject married")

    assert DataSubject.objects.get(pk=ogiloy.pk).name_key == "ismoilova gulnora"
    assert ogiloy.history.latest().name_key == "ismoilova gulnora"
    assert list(DataSubject.objects.search(by_name=True, term="Ismoilova G'ulnora")) == [ogiloy]
    assert not DataSubject.objects.search(by_name=True, term="Xudoyberdiyeva").exists()


def test_the_bulk_audited_path_sets_the_key_too():
    payload = {"account_id": "SX1009876", "full_name": "Gʻaniyev Shoʻxrat", "phone": "+998 90 765 43 21",
               "preferred_language": "uz", "addresses": []}
    report = subjects_upsert_many(rows=[("SX1009876", payload)], actor=ApiActor("test"), reason="Imported",
                                  event=AuditEvent.IMPORTED, rules=SubjectRules.load())
    assert not report.refused
    subject = DataSubject.objects.get(account_id="SX1009876")
    assert subject.name_key == subject.history.latest().name_key == "ganiyev shoxrat"
    assert list(DataSubject.objects.search(by_name=True, term="ganiyev sho")) == [subject]


def test_erasing_the_name_erases_its_key(ogiloy):
    ogiloy.status = DataSubject.Status.CLOSED
    record_save(instance=ogiloy, actor=None, reason="Account closed")
    name = PersonalDataField.objects.bound_to(DataSubject)["full_name"]
    erasing.erase_fields(instance=ogiloy, entries=[name], actor=None, reason="Retention")

    ogiloy.refresh_from_db()
    assert ogiloy.full_name != "Xudoyberdiyeva Oʻgʻiloy Rustamovna"
    assert ogiloy.name_key == name_search_key(ogiloy.full_name)
    assert ogiloy.history.latest().name_key == ogiloy.name_key
    assert not DataSubject.objects.search(by_name=True, term="Xudoyberdiyeva").exists()


def test_the_name_search_reads_the_index(ogiloy):
    queryset = DataSubject.objects.search(by_name=True, term="Xudoyberdiyeva Oʻgʻiloy")
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # With a handful of rows a sequential scan is cheapest; forbid it to prove an index serves.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
    assert "subject_name_key_idx" in plan, plan


def test_a_name_search_is_logged_with_the_name_hashed_alike_however_it_was_typed(client, support_agent, ogiloy):
    client.force_login(support_agent)
    response = client.get(reverse("admin:subjects_datasubject_changelist"), {"q": "Xudoyberdiyeva Oʻgʻiloy"})
    assert list(response.context["cl"].result_list) == [ogiloy]
    event = AccessEvent.objects.get(action=AccessEvent.Action.SUBJECT_SEARCH)
    assert event.detail == "results=1"
    assert event.search_term_hash == search_term_hash("xudoyberdiyeva ogiloy")
    assert event.search_term_hash != search_term_hash("Xudoyberdiyeva Malika")
    stored = " ".join(str(value) for value in AccessEvent.objects.values_list().get())
    assert "udoyberdiyeva" not in stored.lower()


def test_a_request_is_matched_by_identifiers_only_never_by_a_name(ogiloy):
    from shipex_privacy.rights_requests.services import subjects_matching

    assert not subjects_matching("Xudoyberdiyeva Oʻgʻiloy").exists()
    assert not DataSubject.objects.search("Xudoyberdiyeva").exists()
