"""Agents find a subject by phone typed any common way, e-mail in any case, account id or PINFL,
with exact lookups on indexed, normalised columns."""

import pytest
from django.db import connection, transaction
from django.urls import reverse

from shipex_privacy.subjects.models import DataSubject
from tests.subjects.factories import DataSubjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def aziz():
    DataSubjectFactory.create_batch(5)
    return DataSubjectFactory(
        account_id="SX1002345", phone="+998901234567", email="aziz.karimov@mail.uz", pinfl="31505900140019"
    )


@pytest.mark.parametrize(
    "term",
    [
        "+998 90 123 45 67", "90 123-45-67", "998901234567", "901234567", "(90) 1234567",
        "Aziz.Karimov@MAIL.uz", "aziz.karimov@mail.uz", "SX1002345", "sx1002345", "31505900140019",
        "3150 5900 1400 19",
    ],
)
def test_subject_is_found_by_any_common_form_of_its_identifiers(aziz, term):
    assert list(DataSubject.objects.search(term)) == [aziz]


@pytest.mark.parametrize("term", ["90 123", "aziz.karimov@mail", "SX100", "3150590014", "", "   "])
def test_partial_terms_find_nothing(aziz, term):
    assert not DataSubject.objects.search(term).exists()


def test_search_uses_exact_lookups_not_a_scan(aziz):
    sql = str(DataSubject.objects.search("+998 90 123 45 67").query).upper()
    assert "LIKE" not in sql
    assert "UPPER(" not in sql and "LOWER(" not in sql


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner")
@pytest.mark.parametrize("term", ["+998 90 123 45 67", "aziz.karimov@mail.uz", "31505900140019"])
def test_postgresql_can_answer_the_search_from_indexes(aziz, term):
    queryset = DataSubject.objects.search(term)
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        # With a handful of rows a sequential scan is cheapest; forbid it to prove an index serves.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan" not in plan, plan


def test_changelist_search_box_finds_by_phone(client, support_agent, aziz):
    client.force_login(support_agent)
    response = client.get(reverse("admin:subjects_datasubject_changelist"), {"q": "90 123-45-67"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [aziz]
