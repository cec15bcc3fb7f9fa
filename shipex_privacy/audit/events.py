"""Who acted and what kind of event a change was: typed, so the trail can be filtered by them.

Every audited write names an ``actor`` and an ``event`` (``audit.services.record_save``). The
actor is a staff member (a ``User``), or a ``SystemActor`` for work no person started — a
retention run, an import, the demo data. The event is a code from ``AuditEvent`` kept beside the
human reason, as Zulip keeps ``AuditLogEventType`` beside its audit rows: the reason says why in
words, the event says what happened in a form a filter can use.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from django.db import models
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from shipex_privacy.accounts.models import User


class AuditEvent(models.TextChoices):
    EDITED = "record.edited", _("Edited in the back office")
    DELETED = "record.deleted", _("Deleted in the back office")
    IMPORTED = "record.imported", _("Imported")
    DEMO = "record.demo", _("Demo data")

    POLICY_PUBLISHED = "policy.published", _("Policy version published")
    POLICY_ACCEPTED = "policy.accepted", _("Policy version accepted")
    CONSENT_GRANTED = "consent.granted", _("Consent granted")
    CONSENT_WITHDRAWN = "consent.withdrawn", _("Consent withdrawn")
    CONSENT_LAPSED = "consent.lapsed", _("Consent lapsed at the end of its term")

    DISCLOSURE_DRAFTED = "disclosure.drafted", _("Disclosure drafted")
    DISCLOSURE_SUBMITTED = "disclosure.submitted", _("Disclosure submitted for approval")
    DISCLOSURE_APPROVED = "disclosure.approved", _("Disclosure approved")
    DISCLOSURE_RETURNED = "disclosure.returned", _("Disclosure returned to its author")
    DISCLOSURE_SENT = "disclosure.sent", _("Disclosure sent")
    DISCLOSURE_CORRECTED = "disclosure.corrected", _("Disclosure corrected by a new one")
    SUBJECT_NOTIFIED = "disclosure.subject_notified", _("Subject notified of a disclosure")

    REQUEST_RECEIVED = "request.received", _("Request received")
    REQUEST_MATCHED = "request.matched", _("Request matched to a subject")
    REQUEST_VERIFIED = "request.verified", _("Requester's identity verified")
    REQUEST_MOVED = "request.moved", _("Request moved to another state")
    REQUEST_ASSIGNED = "request.assigned", _("Request assigned")
    REQUEST_DEADLINE = "request.deadline", _("Request deadline extended, paused or resumed")
    REQUEST_CORRECTION = "request.correction", _("Subject corrected from a request")
    REQUEST_WITHDRAWAL = "request.withdrawal", _("Consents withdrawn from a request")
    REQUEST_STOP = "request.stop", _("Processing stopped from a request")
    ACCESS_PACKAGE_BUILT = "request.access_package", _("Access package built")
    ERASURE = "request.erasure", _("Erased from a request")
    ERASURE_TASK_DONE = "request.erasure_task_done", _("Erasure task of another system done")
    ERASURE_OVERRIDE = "request.erasure_override", _("Erasure closed over open tasks by an officer")

    RETENTION_RUN = "retention.run", _("Retention run recorded")
    RETENTION_APPLIED = "retention.applied", _("Retention rule applied to a record")
    LEGAL_HOLD_PLACED = "retention.hold_placed", _("Legal hold placed")
    LEGAL_HOLD_RELEASED = "retention.hold_released", _("Legal hold released")

    SUBJECT_RECEIVED = "api.subject", _("Subject created or updated by a ShipEx system")
    SUBJECT_LOGGED_OUT = "api.logged_out", _("Subject logged out in a ShipEx app")
    COOKIE_CHOICE = "api.cookie_choice", _("Cookie choice received from a ShipEx system")
    API_CLIENT_CHANGED = "api.client", _("API client created or changed")
    API_TOKEN_ISSUED = "api.token_issued", _("API token issued")
    API_TOKEN_ENDED = "api.token_ended", _("API token revoked or ended by rotation")
    TASK_SENT = "integration.task_sent", _("Request sent to another ShipEx system")
    TASK_ANSWERED = "integration.task_answered", _("Another ShipEx system answered its task")

    MAIL_CHOICES_CHANGED = "notifications.choices", _("Staff member changed which e-mails they get")


@dataclass(frozen=True)
class SystemActor:
    """Work that no staff member started; history names it instead of a person.

    It has no ``pk``, so history keeps no user id — only ``system:<name>`` as the username.
    """

    name: str
    pk = None

    def get_username(self) -> str:
        return f"system:{self.name}"

    def has_perm(self, perm: str) -> bool:
        return False  # a system actor passes no permission check meant for people

    def __str__(self) -> str:
        return self.get_username()


@dataclass(frozen=True)
class ApiActor:
    """A ShipEx system calling the API through its client (integrations.ApiClient).

    History and the access log name it ``api:<client name>``; like a ``SystemActor`` it has no
    staff id and passes no permission check meant for people (its scopes are checked instead).
    """

    name: str
    pk = None
    is_authenticated = True
    is_anonymous = False

    def get_username(self) -> str:
        return f"api:{self.name}"

    def has_perm(self, perm: str) -> bool:
        return False

    def __str__(self) -> str:
        return self.get_username()


# Who an audited write names: a staff member or a system (None only in tests and data migrations).
Actor = Union["User", SystemActor, ApiActor]  # a forward reference: accounts loads after audit
