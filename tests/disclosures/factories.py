import datetime

import factory

from shipex_privacy.catalogue.models import Purpose
from shipex_privacy.disclosures.models import Disclosure, Recipient
from tests.history_factory import HistoryReasonFactory


class RecipientFactory(HistoryReasonFactory):
    class Meta:
        model = Recipient
        skip_postgeneration_save = True

    legal_name = factory.Sequence(lambda n: f"“Tez Yetkazish {n}” MChJ")
    tin = factory.Sequence(lambda n: f"{305000000 + n}")
    country = "UZ"
    kind = "processor"
    contract_reference = factory.Sequence(lambda n: f"DPA-2026/{n:03d}")
    contract_starts_on = datetime.date(2025, 1, 1)
    # A recipient abroad comes with its mechanism (the database refuses it without); pass
    # ``transfer_mechanism=""`` with ``.build()`` to see the refusal.
    transfer_mechanism = factory.LazyAttribute(lambda r: "" if r.country == "UZ" else "standard_clauses")
    transfer_reference = factory.LazyAttribute(lambda r: "" if r.country == "UZ" else "SCC agreement DPA-X/2026")
    transfer_date = factory.LazyAttribute(lambda r: None if r.country == "UZ" else datetime.date(2026, 4, 1))

    @factory.post_generation
    def services(self, create, extracted, **kwargs):
        if create and extracted:
            self.services.set(extracted)


class DisclosureFactory(HistoryReasonFactory):
    """A draft disclosure; pass ``fields=[...]`` for the catalogue fields it discloses."""

    class Meta:
        model = Disclosure
        skip_postgeneration_save = True

    recipient = factory.SubFactory(RecipientFactory)
    ground = Disclosure.Ground.LAW
    purpose = factory.LazyFunction(lambda: Purpose.objects.get(clause="1.3.2.2"))
    delivery_method = Disclosure.Delivery.SECURE_EMAIL
    created_by_id = None
    created_by_username = "nodira"

    @factory.post_generation
    def fields(self, create, extracted, **kwargs):
        if create and extracted:
            self.fields.set(extracted)
