"""Demo data-subject requests for the agent's queue, in every state, and accounts closed long
enough ago for the retention engine to have work (development only)."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from shipex_privacy.audit.events import AuditEvent
from shipex_privacy.audit.services import record_save
from shipex_privacy.retention.services import legal_hold_place
from shipex_privacy.rights_requests import services
from shipex_privacy.rights_requests.access_package import access_package_build
from shipex_privacy.rights_requests.erasure import request_erase
from shipex_privacy.rights_requests.models import SubjectRequest
from shipex_privacy.rights_requests.responses import response_from_template
from shipex_privacy.subjects.models import DataSubject

K, S = SubjectRequest.Kind, SubjectRequest.Status


class Command(BaseCommand):
    help = "Create demo data-subject requests in each state (development only)."

    def handle(self, **options):
        if not settings.DEBUG:
            raise CommandError("load_demo_requests runs only with DEBUG on.")
        if SubjectRequest.objects.exists():
            self.stdout.write("Requests already present; no demo requests added.")
            return
        users = get_user_model().objects.in_bulk(["support", "compliance"], field_name="username")
        subjects = list(DataSubject.objects.filter(status=DataSubject.Status.ACTIVE).order_by("pk")[100:120])
        if len(users) < 2 or len(subjects) < 20:
            raise CommandError("Load the demo subjects and staff first: manage.py load_demo_data")
        agent, officer = users["support"], users["compliance"]
        now = timezone.now()
        with transaction.atomic():
            # Waiting in the queue: unmatched, from the app and by phone; one of them arrived 35 days ago.
            self.receive(agent, K.ACCESS, "app", now - timedelta(hours=3), subjects[0], match=False)
            self.receive(agent, K.INFORMATION, "phone", now - timedelta(days=1), subjects[1], match=False)
            self.receive(agent, K.COMPLAINT, "letter", now - timedelta(days=35), subjects[2], match=False)
            # Matched, identity being checked; a correction due tomorrow.
            self.receive(agent, K.CORRECTION, "office", now - timedelta(days=2), subjects[3], to=S.VERIFYING)
            # Assigned to the agent: access (package built), erasure (waiting for other systems), objection.
            access = self.receive(agent, K.ACCESS, "email", now - timedelta(days=6), subjects[4], to=S.IN_PROGRESS,
                                  assign=agent)
            access_package_build(request=access, actor=agent)
            erasure = self.receive(agent, K.ERASURE, "web", now - timedelta(days=12), subjects[5], to=S.IN_PROGRESS,
                                   assign=agent)
            request_erase(request=erasure, actor=agent)
            self.receive(agent, K.ADVERTISING_OBJECTION, "app", now - timedelta(days=4), subjects[6],
                         to=S.IN_PROGRESS, assign=agent)
            # Paused: the subject is under a legal hold, so the erasure waits.
            held = self.receive(agent, K.ERASURE, "letter", now - timedelta(days=9), subjects[7], to=S.IN_PROGRESS)
            legal_hold_place(subject=subjects[7], reason="Court case about a lost parcel",
                             legal_reference="Toshkent shahar Yunusobod tumani sudi, ish 2-1187/2026", actor=officer)
            services.request_pause(request=held, reason="Legal hold: court case 2-1187/2026", actor=officer)
            # Closed: a stop request done, a consent withdrawal done, a duplicate refused.
            stop = self.receive(agent, K.STOP, "app", now - timedelta(days=20), subjects[8], to=S.IN_PROGRESS)
            services.request_stop_processing(request=stop, actor=agent)
            self.close(agent, stop, S.DONE)
            withdrawal = self.receive(agent, K.CONSENT_WITHDRAWAL, "phone", now - timedelta(days=15), subjects[9],
                                      to=S.IN_PROGRESS)
            withdrawal = services.request_withdraw_consents(request=withdrawal, actor=agent,
                                                            consents=list(services.consents_to_withdraw(withdrawal)))
            self.close(agent, withdrawal, S.DONE)
            first = self.receive(agent, K.ACCESS, "app", now - timedelta(days=8), subjects[10], to=S.IN_PROGRESS)
            duplicate = self.receive(agent, K.ACCESS, "web", now - timedelta(days=7), subjects[10])
            self.close(agent, duplicate, S.REFUSED, note=f"Duplicate of request #{first.pk}")
            self.closed_accounts(officer, list(DataSubject.objects.filter(status=DataSubject.Status.ACTIVE)
                                               .order_by("pk")[150:156]), now)
        self.stdout.write(self.style.SUCCESS(
            f"Demo requests: {SubjectRequest.objects.count()} in the queue at /admin/rights_requests/subjectrequest/ "
            "(unmatched, verifying, in progress with a package and an erasure, paused under a legal hold, closed); "
            "six accounts closed about three years ago for `manage.py apply_retention --dry-run`."))

    def closed_accounts(self, officer, subjects, now):
        """Accounts closed three years ago, give or take: some past the account-3y rule (one of them
        under a legal hold), some expiring within the next 30 days — for apply_retention and its page."""
        for subject, days_ago in zip(subjects, (3 * 365 + 40, 3 * 365 + 15, 3 * 365 + 5, 3 * 365 - 9, 3 * 365 - 20,
                                                3 * 365 - 27), strict=True):
            subject.status, subject.status_changed_at = DataSubject.Status.CLOSED, now - timedelta(days=days_ago)
            record_save(instance=subject, actor=officer, event=AuditEvent.DEMO,
                        reason="Demo data: account closed (load_demo_requests)")
        legal_hold_place(subject=subjects[0], reason="Tax inspection of 2023 deliveries",
                         legal_reference="Davlat soliq qoʻmitasi, soʻrov 04-17/2026", actor=officer)

    def receive(self, agent, kind, channel, received_at, subject, *, match=True, to=S.NEW, assign=None):
        request = services.request_receive(kind=kind, channel=channel, received_at=received_at, actor=agent,
                                           requester_name=subject.full_name, requester_contact=subject.phone)
        if match:
            request = services.request_match_subject(request=request, term=subject.account_id, actor=agent)
        if to != S.NEW:
            request = services.request_move(request=request, status=S.VERIFYING, actor=agent)
        if to in (S.IN_PROGRESS,):
            request = services.request_verify_identity(request=request, method="app_login", actor=agent)
            request = services.request_move(request=request, status=S.IN_PROGRESS, actor=agent)
        if assign:
            request = services.request_assign(request=request, assignee=assign, actor=agent)
        return request

    def close(self, agent, request, status, note=""):
        outcome = "done" if status == S.DONE else "refused"
        text = response_from_template(request, outcome)
        return services.request_move(request=request, status=status, actor=agent, response_text=text, note=note)
