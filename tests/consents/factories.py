import datetime

import factory
from django.utils import timezone

from shipex_privacy.consents.models import PolicyVersion
from tests.history_factory import HistoryReasonFactory


class PolicyVersionFactory(HistoryReasonFactory):
    """A draft policy version; ``PolicyVersionFactory(published=True)`` publishes it."""

    class Meta:
        model = PolicyVersion

    class Params:
        published = factory.Trait(published_at=factory.LazyFunction(timezone.now))

    version = factory.Sequence(lambda n: f"2026.{n + 1}")
    effective_date = datetime.date(2025, 1, 1)
    text_uz = "1.1 Xizmatdan foydalanish ushbu siyosatga roziligingizni bildiradi."
    text_ru = "1.1 Пользуясь Сервисом, вы соглашаетесь с этой политикой."
    text_en = "1.1 Using the Service means consent to this policy."
