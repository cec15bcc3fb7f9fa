"""Reads of personal data are logged (clause 1.7.1): who, when, what, which object, from where."""

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory
from django.urls import reverse

from shipex_privacy.audit.access import access_record, search_term_hash
from shipex_privacy.audit.guards import guarded_operations
from shipex_privacy.audit.models import AccessEvent
from shipex_privacy.subjects.models import DataSubject
from tests.accounts.factories import StaffFactory
from tests.subjects.factories import AddressFactory, DataSubjectFactory

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 ShipEx-test"
Action = AccessEvent.Action


@pytest.fixture
def subject():
    subject = DataSubjectFactory(phone="+998901234567", pinfl="31505900140019", email="aziz.karimov@mail.uz")
    AddressFactory(subject=subject)
    return subject


def change_url(subject):
    return reverse("admin:subjects_datasubject_change", args=[subject.pk])


def history_url(subject):
    return reverse("admin:subjects_datasubject_history", args=[subject.pk])


def only_event() -> AccessEvent:
    return AccessEvent.objects.get()


@pytest.mark.parametrize("role_user", ["Support agent", "Compliance officer", "Auditor"], indirect=True)
def test_opening_a_subject_is_logged_with_who_what_and_where(client, role_user, subject):
    client.force_login(role_user)
    response = client.get(change_url(subject), HTTP_USER_AGENT=BROWSER, REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    event = only_event()
    assert (event.user_id, event.username, event.action) == (role_user.pk, role_user.username, Action.SUBJECT_VIEW)
    assert (event.object_type, event.object_id, event.subject_id) == ("subjects.datasubject", str(subject.pk),
                                                                      subject.pk)
    assert (event.ip, event.user_agent) == ("10.1.2.3", BROWSER)
    assert event.at is not None


def test_opening_the_history_is_logged(client, auditor, subject):
    client.force_login(auditor)
    assert client.get(history_url(subject)).status_code == 200
    event = only_event()
    assert (event.action, event.object_id, event.subject_id) == (Action.SUBJECT_HISTORY, str(subject.pk), subject.pk)


def test_a_refused_page_logs_no_read(client, support_agent, subject):
    support_agent.groups.clear()
    client.force_login(support_agent)
    assert client.get(change_url(subject)).status_code == 403
    assert client.get(history_url(subject)).status_code == 403
    assert not AccessEvent.objects.exists()


def test_a_subject_id_that_does_not_exist_logs_no_read(client, auditor):
    client.force_login(auditor)
    response = client.get(reverse("admin:subjects_datasubject_change", args=[987654]))
    assert response.status_code == 302  # the admin goes back to the index with "does not exist"
    assert not AccessEvent.objects.exists()


def test_a_search_is_logged_with_the_term_hashed_never_in_clear(client, support_agent, subject):
    client.force_login(support_agent)
    response = client.get(reverse("admin:subjects_datasubject_changelist"), {"q": "90 123-45-67"})
    assert list(response.context["cl"].result_list) == [subject]
    event = only_event()
    assert event.action == Action.SUBJECT_SEARCH
    assert event.detail == "results=1"
    # The same number typed another way hashes alike, so an auditor holding it can find the search…
    assert event.search_term_hash == search_term_hash("+998 90 123 45 67") == search_term_hash("+998901234567")
    assert event.search_term_hash != search_term_hash("+998901234568")
    # …but the row itself holds nothing of the number.
    stored = " ".join(str(value) for value in AccessEvent.objects.values_list().get())
    for fragment in ("901234567", "123-45-67", "123 45 67"):
        assert fragment not in stored


def test_listing_without_a_search_is_not_a_search(client, support_agent, subject):
    client.force_login(support_agent)
    client.get(reverse("admin:subjects_datasubject_changelist"))
    client.get(reverse("admin:subjects_datasubject_changelist"), {"q": "   "})
    assert not AccessEvent.objects.exists()


def test_the_service_is_ready_for_exports_and_access_packages(support_agent, subject):
    request = RequestFactory().get("/admin/", REMOTE_ADDR="192.0.2.7", HTTP_USER_AGENT=BROWSER)
    request.user = support_agent
    access_record(request=request, action=Action.EXPORT, detail="subjects.csv, 1 row", subject_id=subject.pk)
    access_record(request=request, action=Action.ACCESS_PACKAGE, obj=subject, subject_id=subject.pk)
    assert list(AccessEvent.objects.order_by("id").values_list("action", "object_type", "detail", "ip")) == [
        ("export", "", "subjects.csv, 1 row", "192.0.2.7"),
        ("access_package.download", "subjects.datasubject", "", "192.0.2.7"),
    ]


def test_a_reveal_without_a_reason_cannot_be_logged(support_agent, subject):
    request = RequestFactory().post("/admin/")
    request.user = support_agent
    with pytest.raises(ValidationError, match="reason"):
        access_record(request=request, action=Action.IDENTIFIER_REVEAL, obj=subject, subject_id=subject.pk,
                      reason="   ")
    assert not AccessEvent.objects.exists()


def test_an_unknown_action_is_refused(support_agent):
    request = RequestFactory().get("/admin/")
    request.user = support_agent
    with pytest.raises(ValidationError):
        access_record(request=request, action="subject.print")


def test_the_log_keeps_the_reader_after_the_staff_account_is_deleted(client, subject):
    reader = StaffFactory(username="temp.reader", role="Auditor")
    client.force_login(reader)
    client.get(change_url(subject))
    client.logout()
    reader_id = reader.pk
    reader.delete()
    assert (only_event().user_id, only_event().username) == (reader_id, "temp.reader")


def test_the_access_log_is_append_only_in_the_database(support_agent, subject):
    request = RequestFactory().get("/admin/")
    request.user = support_agent
    access_record(request=request, action=Action.SUBJECT_VIEW, obj=subject, subject_id=subject.pk)
    expected = {"UPDATE", "DELETE", "TRUNCATE"} if connection.vendor == "postgresql" else {"UPDATE", "DELETE"}
    assert guarded_operations(connection)[AccessEvent._meta.db_table] == expected
    for sql in ("UPDATE audit_accessevent SET username = 'someone'", "DELETE FROM audit_accessevent"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert only_event().username == support_agent.username


def test_the_log_is_indexed_for_a_subject_and_for_a_reader_over_dates():
    indexes = {index.name: tuple(index.fields) for index in AccessEvent._meta.indexes}
    assert indexes == {"access_subject_at_idx": ("subject_id", "-at"), "access_user_at_idx": ("user_id", "-at"),
                       "access_action_at_home_idx": ("action", "-at")}  # the auditor's home: recent reveals
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, AccessEvent._meta.db_table)
    assert {"access_subject_at_idx", "access_user_at_idx"} <= set(constraints)


# The access log in the admin: read-only for everybody, readable by auditors and compliance officers.


@pytest.fixture
def logged_read(support_agent, subject):
    request = RequestFactory().post("/admin/", REMOTE_ADDR="10.9.8.7")
    request.user = support_agent
    return access_record(
        request=request, action=Action.IDENTIFIER_REVEAL, obj=subject, subject_id=subject.pk, field="pinfl",
        reason="DSR #42 <script>alert('x')</script>",
    )


@pytest.mark.parametrize("role_user", ["Auditor", "Compliance officer"], indirect=True)
def test_auditors_and_compliance_officers_read_the_access_log(client, role_user, grant, logged_read, subject):
    grant(role_user, "audit.view_accessevent")
    client.force_login(role_user)
    response = client.get(reverse("admin:audit_accessevent_changelist"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "DSR #42 &lt;script&gt;" in content and "<script>alert" not in content
    assert f'href="?subject_id={subject.pk}"' in content
    # Only ids: none of the subject's data is on the log's pages.
    for value in (subject.pinfl, subject.phone, subject.email, subject.full_name):
        assert value not in content
    detail = client.get(reverse("admin:audit_accessevent_change", args=[logged_read.pk]))
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()


def test_filtering_by_subject_uses_the_indexed_column(client, auditor, grant, logged_read, subject):
    other = DataSubjectFactory()
    request = RequestFactory().get("/admin/")
    request.user = auditor
    access_record(request=request, action=Action.SUBJECT_VIEW, obj=other, subject_id=other.pk)
    grant(auditor, "audit.view_accessevent")
    client.force_login(auditor)
    response = client.get(reverse("admin:audit_accessevent_changelist"), {"subject_id": subject.pk})
    assert list(response.context["cl"].result_list) == [logged_read]


@pytest.mark.parametrize(
    ("page", "method"),
    [("add", "get"), ("add", "post"), ("change", "post"), ("delete", "get"), ("delete", "post")],
)
def test_nobody_adds_changes_or_deletes_a_read_not_even_a_superuser(admin_client, logged_read, page, method):
    args = [] if page == "add" else [logged_read.pk]
    url = reverse(f"admin:audit_accessevent_{page}", args=args)
    response = getattr(admin_client, method)(url, {"username": "forged", "post": "yes"})
    assert response.status_code == 403
    assert AccessEvent.objects.get().username == logged_read.username
    assert AccessEvent.objects.count() == 1


def test_staff_without_the_permission_cannot_read_the_log(client, support_agent, logged_read):
    client.force_login(support_agent)
    assert client.get(reverse("admin:audit_accessevent_changelist")).status_code == 403


def test_the_history_of_one_version_cannot_be_posted_back(client, auditor, support_agent, subject):
    """simple-history's version page would save a POSTed form without checking the change permission."""
    history_id = DataSubject.history.filter(id=subject.pk).latest().history_id
    url = reverse("admin:subjects_datasubject_simple_history", args=[subject.pk, history_id])
    for user in (auditor, support_agent):
        client.force_login(user)
        response = client.post(url, {"account_id": subject.account_id, "full_name": "Reverted", "phone": subject.phone,
                                     "preferred_language": "uz", "change_reason": "revert"})
        assert response.status_code == 403
    subject.refresh_from_db()
    assert subject.full_name != "Reverted"
    assert DataSubject.history.filter(id=subject.pk).count() == 1


def test_one_old_version_is_shown_only_to_those_who_see_identifiers_in_full(client, auditor, support_agent, subject):
    history_id = DataSubject.history.filter(id=subject.pk).latest().history_id
    url = reverse("admin:subjects_datasubject_simple_history", args=[subject.pk, history_id])
    client.force_login(auditor)
    assert client.get(url).status_code == 403
    assert not AccessEvent.objects.exists()
    client.force_login(support_agent)
    assert client.get(url).status_code == 200
    event = only_event()
    assert (event.action, event.subject_id, event.detail) == (Action.SUBJECT_HISTORY, subject.pk,
                                                              f"version={history_id}")


def test_the_database_itself_refuses_a_reveal_without_a_reason(subject):
    from django.db import IntegrityError

    with pytest.raises(IntegrityError), transaction.atomic():
        AccessEvent.objects.create(action=Action.IDENTIFIER_REVEAL, object_type="subjects.datasubject",
                                   object_id=str(subject.pk), subject_id=subject.pk, reason="")


# --- the write itself: one statement on PostgreSQL, the same digest as a save --------------------------


def _read(user, *, ip: str, agent: str = BROWSER, detail: str = "") -> AccessEvent:
    request = RequestFactory().get("/admin/", REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)
    request.user = user
    return access_record(request=request, action=Action.EXPORT, detail=detail)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's single-statement write")
def test_a_read_is_logged_in_one_statement_once_warm(support_agent, django_assert_num_queries):
    from shipex_privacy.audit import tamper

    _read(support_agent, ip="192.0.2.7")  # the first one draws its own id and looks its table and layout up
    # Their ids are cached once committed, which a test's transaction never is: cache them as a commit would.
    table_id = tamper._table_id("default", AccessEvent._meta.db_table)
    tamper._table_ids[("default", AccessEvent._meta.db_table)] = table_id
    columns = ",".join(column for column, _attname in tamper._columns(AccessEvent))
    tamper._layout_ids[("default", table_id, columns)] = tamper._layout_id("default", table_id, columns)
    with django_assert_num_queries(1):
        event = _read(support_agent, ip="192.0.2.8")
    assert AccessEvent.objects.get(pk=event.pk).ip == "192.0.2.8"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's single-statement write")
def test_a_forked_process_never_writes_the_id_its_parent_reserved(support_agent, monkeypatch):
    import os

    from shipex_privacy.audit import access

    parent = _read(support_agent, ip="192.0.2.7")  # also reserves the parent's next id
    reserved = set(access._reserved.values())
    monkeypatch.setattr(os, "getpid", lambda: -1)  # the same memory, another process
    child = _read(support_agent, ip="192.0.2.8")
    assert child.pk not in reserved and child.pk != parent.pk
    monkeypatch.undo()
    again = _read(support_agent, ip="192.0.2.9")  # the parent goes on with its own reservation
    assert again.pk in reserved
    assert len({parent.pk, child.pk, again.pk}) == 3


def test_every_logged_read_verifies_whatever_it_holds(support_agent):
    from shipex_privacy.audit import tamper

    events = [
        _read(support_agent, ip="192.0.2.7"),
        _read(support_agent, ip="2001:db8::1"),
        _read(support_agent, ip="::ffff:192.0.2.9"),  # PostgreSQL spells it its own way: the plain path
        _read(support_agent, ip="10.0.0.1", agent="Ёлка/1.0 Oʻzbekiston " + "x" * 400, detail="Toshkent — «ok»"),
    ]
    assert len({event.pk for event in events}) == 4
    assert AccessEvent.objects.count() == 4
    report = tamper.verify()
    assert report.findings == [] and report.rows_checked >= 4


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's single-statement write")
def test_a_refused_write_leaves_neither_the_row_nor_its_digest(support_agent, monkeypatch):
    from shipex_privacy.audit.models import RowDigest

    _read(support_agent, ip="192.0.2.7")
    digests = RowDigest.objects.count()
    too_long = "x" * 600  # detail is 500 characters: full_clean refuses it before any write
    with pytest.raises(ValidationError):
        _read(support_agent, ip="192.0.2.7", detail=too_long)
    # The database refusing the statement (here: the reveal rule, bypassing the check in Python).
    monkeypatch.setattr(AccessEvent, "full_clean", lambda self, **kwargs: None)
    request = RequestFactory().get("/admin/", REMOTE_ADDR="192.0.2.7")
    request.user = support_agent
    event = AccessEvent(action=Action.IDENTIFIER_REVEAL)
    assert event.reason == ""
    from shipex_privacy.audit.access import _insert_with_digest

    with pytest.raises(DatabaseError), transaction.atomic():
        _insert_with_digest(event, "default")
    assert event.pk is None
    assert (AccessEvent.objects.count(), RowDigest.objects.count()) == (1, digests)
    assert _read(support_agent, ip="192.0.2.7").pk  # and the next read is logged as before
