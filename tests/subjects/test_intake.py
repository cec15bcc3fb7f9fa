"""A system's subject payload: validated as the catalogue says, applied in memory, written with history."""

import json
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipex_privacy.audit.events import ApiActor, AuditEvent
from shipex_privacy.audit.models import TrailEntry
from shipex_privacy.catalogue.models import PersonalDataField
from shipex_privacy.subjects.intake import (
    SubjectRules,
    erased_account_ids,
    planned_writes,
    subject_as_payload,
    subject_from_payload,
    subject_put,
    subject_version,
    take_snapshot,
)
from shipex_privacy.subjects.models import Address, DataSubject
from tests.retention.factories import ClosedSubjectFactory
from tests.subjects.factories import AddressFactory, DataSubjectFactory

pytestmark = pytest.mark.django_db

ACTOR = ApiActor("mobile-app")
PINFL = "30101900000011"  # check digit 1 matches (weights 7, 3, 1)


def payload(**changes) -> dict:
    body = {
        "account_id": "SX1002345",
        "full_name": "Aziza Karimova",
        "phone": "+998 90 123 45 67",
        "email": "Aziza@Mail.UZ",
        "pinfl": PINFL,
        "passport": "aa 1234567",
        "birth_date": "1990-01-01",
        "preferred_language": "ru",
        "addresses": [{"kind": "home", "region": "Toshkent shahri", "city": "Yunusobod tumani",
                       "street": "Amir Temur koʻchasi 12, 34-xonadon", "landmark": "", "postal_code": "100084"}],
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not ...}


@pytest.fixture
def rules():
    return SubjectRules.load()


def codes(error: ValidationError) -> dict[str, list[str]]:
    return {name: [item.code for item in items] for name, items in error.error_dict.items()}


def refused(body, rules, *, subject=None, partial=False) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as error:
        subject_from_payload(body, subject=subject, partial=partial, rules=rules)
    return codes(error.value)


def test_pinfl_fixture_has_a_matching_check_digit():
    from shipex_privacy.core.identifiers import pinfl_check_digit_matches

    assert pinfl_check_digit_matches(PINFL)


def test_rules_follow_the_catalogue(rules):
    assert set(rules.mandatory_subject) == {"account_id", "full_name", "phone", "registered_at"}
    assert set(rules.mandatory_address) == {"region", "city", "street"}
    PersonalDataField.objects.filter(code="contact.email").update(requirement="mandatory")
    assert "email" in SubjectRules.load().mandatory_subject


def test_a_new_subject_is_normalised_as_the_admin_stores_it(rules, django_assert_num_queries):
    with django_assert_num_queries(0):
        subject, addresses = subject_from_payload(payload(account_id="sx 1002 345"), subject=None, partial=False,
                                                  rules=rules)
    assert subject.pk is None
    assert (subject.account_id, subject.phone, subject.email, subject.passport) == (
        "SX1002345", "+998901234567", "aziza@mail.uz", "AA1234567")
    assert subject.birth_date == date(1990, 1, 1)
    assert subject.preferred_language == "ru"
    assert [(a.pk, a.city) for a in addresses] == [(None, "Yunusobod tumani")]


def test_mandatory_fields_are_required_on_put_but_not_on_patch(rules):
    errors = refused(payload(full_name=..., phone=""), rules)
    assert errors == {"full_name": ["mandatory"], "phone": ["mandatory"]}
    subject = DataSubjectFactory()
    same, addresses = subject_from_payload({"email": "new@mail.uz"}, subject=subject, partial=True, rules=rules)
    assert same.email == "new@mail.uz" and addresses is None
    assert refused({"phone": None}, rules, subject=subject, partial=True) == {"phone": ["mandatory"]}


def test_the_account_id_is_required_for_a_new_subject_and_fixed_for_an_existing_one(rules):
    assert refused(payload(account_id=...), rules) == {"account_id": ["required"]}
    assert refused(payload(account_id="SX12"), rules) == {"account_id": ["invalid_account_id"]}
    assert refused(payload(account_id="ERASED-7"), rules) == {"account_id": ["invalid_account_id"]}
    subject = DataSubjectFactory(account_id="SX1000001")
    assert refused({"account_id": "SX1000002"}, rules, subject=subject, partial=True) == {
        "account_id": ["account_id_mismatch"]}
    subject_from_payload({"account_id": "sx1000001"}, subject=subject, partial=True, rules=rules)


def test_unknown_and_back_office_fields_are_refused_by_name(rules):
    errors = refused(payload(nickname="Azi", status="closed", id=4,
                             addresses=[{"region": "R", "city": "C", "street": "S", "floor": 3}]), rules)
    assert errors == {"nickname": ["unknown_field"], "status": ["read_only"], "id": ["read_only"],
                      "addresses.0.floor": ["unknown_field"]}


@pytest.mark.parametrize(("field", "value", "code"), [
    ("phone", 998901234567, "invalid_type"),
    ("phone", "+998 90 SHIPEX1", "invalid_phone"),
    ("email", "not-an-address", "invalid"),
    ("pinfl", "1234", "invalid_pinfl"),
    ("pinfl", "30101900000012", "pinfl_check_digit"),
    ("passport", ["AA1234567"], "invalid_type"),
    ("birth_date", "1899-12-31", "birth_date_too_early"),
    ("birth_date", "01.01.1990", "invalid"),
    ("birth_date", "1990-02-30", "invalid"),
    ("preferred_language", "de", "invalid_choice"),
    ("full_name", "A" * 201, "max_length"),
    ("full_name", "Aziza\x00", "null_characters"),
    ("full_name", "\ud800", "invalid"),
    ("registered_at", "2025-01-31T09:30:00", "naive_datetime"),
    ("registered_at", "0001-01-01T00:00:00+05:00", "registered_at_range"),
    ("keep_pinfl", "yes", "invalid_type"),
    ("addresses", "Toshkent", "invalid_type"),
    ("addresses", [[]], "invalid_type"),
])
def test_wrong_values_and_types_are_refused_by_field(rules, field, value, code):
    errors = refused(payload(**{field: value}), rules)
    assert code in [c for name, found in errors.items() if name.startswith(field) for c in found], errors


def test_a_future_birth_date_is_refused(rules):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert refused(payload(birth_date=tomorrow), rules) == {"birth_date": ["birth_date_in_future"]}


def test_keep_pinfl_keeps_a_number_whose_check_digit_does_not_match(rules):
    subject, _addresses = subject_from_payload(payload(pinfl="30101900000012", keep_pinfl=True), subject=None,
                                               partial=False, rules=rules)
    assert subject.pinfl == "30101900000012"


def test_address_errors_name_the_address_and_its_field(rules):
    errors = refused(payload(addresses=[{"region": "R", "city": "C", "street": "S"},
                                        {"region": "R", "city": "", "street": "S", "kind": "castle"}]), rules)
    assert errors == {"addresses.1.city": ["mandatory"], "addresses.1.kind": ["invalid_choice"]}


def test_an_erased_subject_is_refused(rules):
    subject = ClosedSubjectFactory()
    with pytest.raises(ValidationError) as error:
        subject_from_payload({"full_name": "Back"}, subject=subject, partial=True, rules=rules)
    assert error.value.code == "erased"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
FIELD_NAMES = st.sampled_from([*DataSubject.PERSONAL_DATA_FIELDS, "addresses", "keep_pinfl", "status", "x"])
ADDRESS_JSON = st.dictionaries(st.sampled_from(["kind", "region", "city", "street", "landmark", "postal_code", "id"]),
                               JSON | st.text(max_size=10), max_size=7)
PAYLOADS = JSON | st.dictionaries(FIELD_NAMES, JSON | st.lists(ADDRESS_JSON, max_size=3), max_size=10)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=PAYLOADS, partial=st.booleans())
def test_any_json_is_either_taken_or_refused_by_field(rules, body, partial):
    subject = DataSubject(pk=1, account_id="SX1000001", full_name="Aziza", phone="+998901234567",
                          registered_at=timezone.now())
    subject._prefetched_objects_cache = {"addresses": Address.objects.none()}
    for target in (None, subject):
        try:
            result, addresses = subject_from_payload(body, subject=target, partial=partial, rules=rules)
        except ValidationError as error:
            assert error.messages  # every refusal says why
        else:
            assert isinstance(result, DataSubject)
            assert addresses is None or all(isinstance(a, Address) for a in addresses)
    json.dumps(body)  # what was thrown at it was JSON


def test_put_replaces_the_address_list_keeping_unchanged_rows(rules):
    subject = DataSubjectFactory()
    home = AddressFactory(subject=subject, kind="home")
    work = AddressFactory(subject=subject, kind="work")
    pickup = AddressFactory(subject=subject, kind="pickup")
    subject = DataSubject.objects.prefetch_related("addresses").get(pk=subject.pk)
    snapshot = take_snapshot(subject)
    body = subject_as_payload(subject)
    body["addresses"] = [
        {**address, "street": "Yangi koʻcha 1"} if address["kind"] == "work" else address
        for address in body["addresses"] if address["kind"] != "pickup"
    ] + [{"kind": "other", "region": "Samarqand viloyati", "city": "Samarqand", "street": "Registon 5"}]
    subject, addresses = subject_from_payload(body, subject=subject, partial=False, rules=rules)
    writes = planned_writes(snapshot, subject, addresses)
    assert not writes.subject_changed
    assert [a.pk for a in writes.address_saves] == [work.pk, None]
    assert [a.pk for a in writes.address_deletes] == [pickup.pk]
    assert home.pk in [a.pk for a in addresses]


def put(account_id="SX1002345", body=None, *, partial=False, if_match=None, reason="1.5.1: test"):
    return subject_put(account_id=account_id, payload=payload() if body is None else body, partial=partial,
                       if_match=if_match, actor=ACTOR, reason=reason)


def test_subject_put_creates_then_a_repeat_writes_no_history():
    subject, created = put()
    assert created
    version = subject_version(subject)
    rows = DataSubject.history.filter(id=subject.pk)
    assert rows.count() == 1
    row = rows.get()
    assert (row.history_username, row.history_change_reason, row.history_type) == ("api:mobile-app", "1.5.1: test",
                                                                                   "+")
    trail = TrailEntry.objects.filter(model="subjects.datasubject", object_id=str(subject.pk)).get()
    assert trail.event == AuditEvent.SUBJECT_RECEIVED and trail.username == "api:mobile-app"
    assert Address.history.filter(subject_id=subject.pk).count() == 1

    again, created = put(body=payload(account_id="sx1002345"))
    assert not created and again.pk == subject.pk
    assert subject_version(again) == version
    assert DataSubject.history.filter(id=subject.pk).count() == 1
    assert Address.history.filter(subject_id=subject.pk).count() == 1


def test_subject_as_payload_sent_back_changes_nothing():
    subject, _created = put()
    body = subject_as_payload(DataSubject.objects.get(pk=subject.pk))
    version = subject_version(subject)
    put(body=body)
    assert subject_version(subject) == version


def test_subject_put_updates_and_names_the_event_on_every_row():
    subject, _created = put()
    put(body=payload(full_name="Aziza Karimova-Rahimova", addresses=[]), reason="1.5.1: profile updated in Web")
    subject.refresh_from_db()
    assert subject.full_name == "Aziza Karimova-Rahimova"
    assert not subject.addresses.exists()
    deleted = Address.history.filter(subject_id=subject.pk, history_type="-").get()
    assert deleted.history_username == "api:mobile-app"
    events = set(TrailEntry.objects.filter(subject_id=subject.pk).values_list("event", flat=True))
    assert events == {AuditEvent.SUBJECT_RECEIVED}


def test_a_put_leaves_out_an_optional_field_and_it_is_cleared_a_patch_keeps_it():
    subject, _created = put()
    put(body=payload(email=...), partial=True)
    subject.refresh_from_db()
    assert subject.email == "aziza@mail.uz"
    put(body=payload(email=...))
    subject.refresh_from_db()
    assert subject.email == ""
    registered = subject.registered_at
    put(body=payload(full_name="Other"))
    subject.refresh_from_db()
    assert subject.registered_at == registered  # a PUT keeps the registration time it does not send


def test_patch_of_an_unknown_subject_is_refused():
    with pytest.raises(ValidationError) as error:
        put(body={"full_name": "Nobody"}, partial=True)
    assert error.value.code == "not_found"


def test_if_match_must_name_the_current_version():
    subject, _created = put()
    version = subject_version(subject)
    put(body=payload(full_name="First change"), if_match=f'"{version}"')
    with pytest.raises(ValidationError) as error:
        put(body=payload(full_name="Second change"), if_match=f'"{version}"')
    assert error.value.code == "stale_version"
    assert "api:mobile-app" in error.value.messages[0] and "Data subject changed" in error.value.messages[0]
    subject.refresh_from_db()
    assert subject.full_name == "First change"
    for unreadable in ('"nonsense"', '"subjects.datasubject:99999;subjects.address:99999"'):
        with pytest.raises(ValidationError) as error:
            put(body=payload(full_name="Third"), if_match=unreadable)
        assert error.value.code == "stale_version"
    put(body=payload(full_name="Any version"), if_match="*")
    put(body=payload(full_name="Listed"), if_match=f'"x", "{subject_version(subject)}"')


def test_if_match_on_a_subject_that_does_not_exist_is_a_failed_precondition():
    with pytest.raises(ValidationError) as error:
        put(if_match='"subjects.datasubject:1;subjects.address:0"')
    assert error.value.code == "precondition_failed"
    assert not DataSubject.objects.exists()


@pytest.mark.parametrize("status", [DataSubject.Status.CLOSED, DataSubject.Status.ANONYMISED])
def test_an_erased_subject_refuses_updates_and_its_old_id_is_not_reused(status):
    subject = ClosedSubjectFactory(status=status, account_id="SX1002345")
    before = DataSubject.history.count()
    with pytest.raises(ValidationError) as error:
        put()
    assert error.value.code == "erased"
    # Erasure replaced the id: the old one still may not start a new subject.
    subject.account_id = f"ERASED-{subject.pk}"
    subject.save()
    assert erased_account_ids(["SX1002345", "SX1000009"]) == {"SX1002345"}
    with pytest.raises(ValidationError) as error:
        put()
    assert error.value.code == "erased"
    assert DataSubject.history.count() == before + 1
    assert not DataSubject.objects.filter(account_id="SX1002345").exists()


def test_the_id_in_the_body_must_be_the_one_in_the_address():
    with pytest.raises(ValidationError) as error:
        put(body=payload(account_id="SX1000001"))
    assert [item.code for item in error.value.error_dict["account_id"]] == ["account_id_mismatch"]
    with pytest.raises(ValidationError) as error:
        put(account_id="SX1")
    assert error.value.code == "invalid_account_id"


def test_subject_put_query_count_does_not_grow_with_addresses():
    subject, _created = put()
    counts = []
    for count in (1, 5):
        body = payload(addresses=[{"region": "R", "city": "C", "street": f"S {i}"} for i in range(count)])
        put(body=body)
        body["full_name"] = f"Name {count}"
        with CaptureQueriesContext(connection) as queries:
            put(body=body)  # only the subject changes
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert subject_version(subject)


def _at_once(task, count: int) -> list:
    """Run ``task(i)`` in ``count`` threads released together; each one's result or exception."""
    import threading

    from django.db import connections
    from django.utils import translation

    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i):
        try:
            barrier.wait()
            with translation.override("en"):
                results[i] = task(i)
        except Exception as exc:
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
def test_retries_of_the_same_new_subject_at_once_create_it_once(catalogue):
    """A system retrying a sign-up: the first PUT creates, the others find it and change nothing."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time: this race cannot happen there")
    for round_ in range(4):
        account_id = f"SX20000{round_:02d}"
        results = _at_once(lambda i, account_id=account_id: put(account_id, payload(account_id=account_id)), 3)
        assert not [result for result in results if isinstance(result, Exception)], results
        assert sorted(created for _subject, created in results) == [False, False, True]
        subject = DataSubject.objects.get(account_id=account_id)
        assert DataSubject.history.filter(id=subject.pk).count() == 1
        assert Address.history.filter(subject_id=subject.pk).count() == 1


def test_a_value_cleaned_once_is_cleaned_alike_every_time_and_a_refused_one_stays_refused(rules):
    # Field values are cleaned once per distinct value and kept (intake._CLEANED): what is kept must
    # be the stored form, and a refusal must never be kept as if it were one.
    for _ in range(2):
        subject, addresses = subject_from_payload(payload(email="Aziza@Mail.UZ", preferred_language="ru"),
                                                  subject=None, partial=False, rules=rules)
        assert (subject.email, subject.preferred_language, subject.phone) == ("aziza@mail.uz", "ru",
                                                                               "+998901234567")
        assert addresses[0].postal_code == "100084"
    for _ in range(2):
        with pytest.raises(ValidationError) as refused:
            subject_from_payload(payload(preferred_language="xx", email="not an e-mail"), subject=None,
                                 partial=False, rules=rules)
        assert {"preferred_language", "email"} <= set(codes(refused.value))
    too_long = "x" * (Address._meta.get_field("city").max_length + 1)
    for _ in range(2):
        with pytest.raises(ValidationError) as refused:
            subject_from_payload(payload(addresses=[{"kind": "home", "region": "Toshkent shahri",
                                                     "city": too_long, "street": "Navoiy 1"}]),
                                 subject=None, partial=False, rules=rules)
        assert "addresses.0.city" in codes(refused.value)
