import factory

from shipex_privacy.catalogue.models import PersonalDataField, Purpose, RetentionRule, System
from tests.history_factory import HistoryReasonFactory


class SystemFactory(HistoryReasonFactory):
    class Meta:
        model = System
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"test-system-{n}")
    name = factory.LazyAttribute(lambda system: f"Test system {system.code}")
    owner = "Logistics IT"
    country = "UZ"


class PurposeFactory(HistoryReasonFactory):
    class Meta:
        model = Purpose
        django_get_or_create = ("clause",)

    clause = factory.Sequence(lambda n: f"9.9.{n}")
    legal_basis = Purpose.LegalBasis.CONTRACT
    name_uz = "Sinov maqsadi"
    name_ru = "Тестовая цель"
    name_en = "Test purpose"


class RetentionRuleFactory(HistoryReasonFactory):
    class Meta:
        model = RetentionRule
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"test-rule-{n}")
    period = 3
    unit = RetentionRule.Unit.YEARS
    clock_starts = RetentionRule.ClockStart.ACCOUNT_CLOSED
    end_action = RetentionRule.EndAction.DELETE
    name_uz = "3 yil"
    name_ru = "3 года"
    name_en = "3 years"


class PersonalDataFieldFactory(HistoryReasonFactory):
    class Meta:
        model = PersonalDataField
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"test.field_{n}")
    category = PersonalDataField.Category.CONTACT
    requirement = PersonalDataField.Requirement.OPTIONAL
    collection_method = PersonalDataField.CollectionMethod.PROVIDED
    retention_rule = factory.SubFactory(RetentionRuleFactory)
    system = factory.SubFactory(SystemFactory)
    name_uz = "Sinov maydoni"
    name_ru = "Тестовое поле"
    name_en = "Test field"

    @factory.post_generation
    def purposes(self, create, extracted, **kwargs):
        if create:
            self.purposes.set(extracted if extracted is not None else [PurposeFactory()])
