import datetime

import factory
from django.utils import timezone
from factory.random import randgen

from shipex_privacy.subjects.models import Address, DataSubject
from tests import uzbek_data
from tests.history_factory import HistoryReasonFactory

FIRST_ACCOUNT = 7_000_000_000


class DataSubjectFactory(HistoryReasonFactory):
    """A ShipEx customer with realistic Uzbek data and a PINFL whose check digit is valid."""

    class Meta:
        model = DataSubject

    class Params:
        person = factory.LazyFunction(uzbek_data.person)

    # Ten digits from FIRST_ACCOUNT: a range no test writes by hand, so the sequence never meets a test's
    # own "SX1002345" (it did, once enough subjects had been made before it; test_factories guards it).
    account_id = factory.Sequence(lambda n: f"SX{FIRST_ACCOUNT + n}")
    full_name = factory.LazyAttribute(lambda subject: subject.person["full_name"])
    preferred_language = factory.LazyAttribute(lambda subject: subject.person["language"])
    phone = factory.LazyFunction(uzbek_data.mobile_phone)
    email = factory.LazyAttribute(
        lambda subject: f"{subject.account_id.lower()}@{randgen.choice(['mail.uz', 'gmail.com', 'inbox.uz'])}"
    )
    birth_date = factory.LazyFunction(uzbek_data.birth_date)
    pinfl = factory.LazyAttribute(lambda subject: uzbek_data.pinfl(subject.birth_date, subject.person["female"]))
    passport = factory.LazyFunction(uzbek_data.passport)
    registered_at = factory.LazyFunction(
        lambda: timezone.now() - datetime.timedelta(days=randgen.randint(0, 3 * 365), minutes=randgen.randint(0, 1440))
    )


class AddressFactory(HistoryReasonFactory):
    class Meta:
        model = Address

    class Params:
        place = factory.LazyFunction(uzbek_data.address)

    subject = factory.SubFactory(DataSubjectFactory)
    kind = Address.Kind.HOME
    region = factory.LazyAttribute(lambda address: address.place["region"])
    city = factory.LazyAttribute(lambda address: address.place["city"])
    street = factory.LazyAttribute(lambda address: address.place["street"])
    landmark = factory.LazyAttribute(lambda address: address.place["landmark"])
    postal_code = factory.LazyAttribute(lambda address: address.place["postal_code"])
