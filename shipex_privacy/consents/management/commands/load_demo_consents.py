"""Demo policy versions, acceptances, consents and cookie choices for the demo subjects (development only)."""

import random
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.management import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from shipex_privacy.audit.events import SystemActor
from shipex_privacy.catalogue.models import Purpose
from shipex_privacy.consents import services
from shipex_privacy.consents.models import Channel, CookieCategory, CookieConsentEvent, PolicyVersion, RecipientKind
from shipex_privacy.subjects.models import DataSubject

from ._demo_policy import ADDED_2026, ADDED_2027, POLICY_2025, with_added

DEMO = SystemActor("demo")  # history names the demo loader, not a person

# Research partners may receive data for 1.3.2.4 only with the subject's consent to that disclosure
# (1.4.3.1); the demo's research request names subjects who gave none, so its ground check fails.
RESEARCH_SKIPS_FIRST = 20

def start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


class Command(BaseCommand):
    help = "Create demo policy versions, acceptances, consents and cookie choices (development only)."

    def handle(self, **options):
        if not settings.DEBUG:
            raise CommandError("load_demo_consents runs only with DEBUG on.")
        if PolicyVersion.objects.exists():
            self.stdout.write("Policy versions already present; no demo consents added.")
            return
        if not DataSubject.objects.exists():
            raise CommandError("Load the demo subjects first: manage.py load_demo_data")
        rng = random.Random(547)  # noqa: S311 — demo data, not security
        with transaction.atomic():
            old = self.published("2025.1", date(2025, 1, 1), POLICY_2025)
            new = self.published("2026.1", date(2026, 6, 1), with_added(POLICY_2025, ADDED_2026))
            draft = with_added(POLICY_2025, ADDED_2026, ADDED_2027)
            PolicyVersion.objects.create(
                version="2027.1", effective_date=date(2027, 1, 1), text_uz=draft["uz"], text_ru=draft["ru"],
                text_en=draft["en"],
            )
            advertising = Purpose.objects.get(clause="1.3.2.5")
            research = Purpose.objects.get(clause="1.3.2.4")
            counts = {"acceptances": 0, "consents": 0, "research consents": 0, "withdrawals": 0, "cookie choices": 0}
            for number, subject in enumerate(DataSubject.objects.order_by("pk")):
                self.subject_history(subject, old, new, advertising, rng, counts)
                if number >= RESEARCH_SKIPS_FIRST and rng.random() < 0.3:
                    self.research_consent(subject, new, research, rng, counts)
        self.stdout.write(self.style.SUCCESS(
            "Demo consents: " + ", ".join(f"{count} {name}" for name, count in counts.items())
        ))

    def published(self, label: str, effective: date, texts: dict) -> PolicyVersion:
        version = PolicyVersion.objects.create(
            version=label, effective_date=effective, text_uz=texts["uz"], text_ru=texts["ru"], text_en=texts["en"]
        )
        return services.policy_publish(version=version, actor=DEMO)

    def moment_after(self, start: datetime, rng: random.Random) -> datetime:
        latest = timezone.now() - timedelta(hours=1)
        return min(start + timedelta(days=rng.randint(0, 120), minutes=rng.randint(0, 1440)), latest)

    def subject_history(self, subject, old, new, advertising, rng, counts: dict) -> None:
        """One subject's acceptances, advertising consent and cookie choices; adds to ``counts``."""
        channel = rng.choice([Channel.APP, Channel.APP, Channel.WEB, Channel.OFFICE])
        evidence = services.Evidence(channel=channel, ip_address=f"213.230.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                                     user_agent="ShipEx/5.2 (Android 14)" if channel == Channel.APP else "Mozilla/5.0")
        start = max(subject.registered_at, start_of(old.effective_date))
        accepted_old = self.moment_after(start, rng)
        version = new if accepted_old.date() >= new.effective_date else old
        services.policy_accept(subject=subject, version=version, accepted_at=accepted_old, channel=channel,
                               actor=DEMO, ip_address=evidence.ip_address, user_agent=evidence.user_agent)
        counts["acceptances"] += 1
        if version == old and rng.random() < 0.6:
            moment = self.moment_after(start_of(new.effective_date), rng)
            services.policy_accept(subject=subject, version=new, accepted_at=moment, channel=channel, actor=DEMO,
                                   ip_address=evidence.ip_address, user_agent=evidence.user_agent)
            counts["acceptances"] += 1
        if rng.random() < 0.45:
            granted = self.moment_after(accepted_old, rng)
            event = services.consent_grant(
                subject=subject, purpose=advertising, occurred_at=granted, evidence=evidence,
                policy_version=version, actor=DEMO,
                document=services.ConsentDocument(covered_data=["contact.email", "identity.full_name"],
                                                  operator_tin="301234567"),
            )
            counts["consents"] += 1
            if rng.random() < 0.25:
                services.consent_withdraw(consent=event.consent, occurred_at=self.moment_after(granted, rng),
                                          evidence=evidence, actor=DEMO)
                counts["withdrawals"] += 1
        if channel == Channel.WEB:
            for category in (CookieCategory.ANALYTICS, CookieCategory.ADVERTISING):
                services.cookie_consent_record(
                    subject=subject, category=category, occurred_at=accepted_old, evidence=evidence,
                    kind=CookieConsentEvent.Kind.GRANT if rng.random() < 0.7 else CookieConsentEvent.Kind.WITHDRAW,
                )
                counts["cookie choices"] += 1

    def research_consent(self, subject, version, research, rng, counts: dict) -> None:
        """A consent, for a year, to disclosure to research partners for 1.3.2.4 (a second purpose)."""
        granted = self.moment_after(max(subject.registered_at, start_of(version.effective_date)), rng)
        address = f"84.54.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        evidence = services.Evidence(channel=Channel.APP, ip_address=address, user_agent="ShipEx/5.2 (iOS 18)")
        services.consent_grant(
            subject=subject, purpose=research, occurred_at=granted, evidence=evidence, policy_version=version,
            actor=DEMO, recipient_kind=RecipientKind.RESEARCH_PARTNER, expires_at=granted + timedelta(days=365),
            document=services.ConsentDocument(covered_data=["contact.email", "technical.pages"],
                                              allows_third_party_transfer=True, operator_tin="301234567"),
        )
        counts["research consents"] += 1
