"""The consents panel of the subject page: policy version in force, acceptances, consents."""

from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shipex_privacy.subjects.panels import SubjectPanel, register_subject_panel

from .models import Consent, PolicyAcceptance, PolicyVersion

# Read with the subject's own row (SubjectPanel.columns): the version in force, and the subject's
# latest acceptance with its version, field by field in the models' column order.
IN_FORCE = ("id", "version")
LAST_ACCEPTED = ("id", "subject_id", "version_id", "accepted_at", "channel")
COLUMN = "consents_panel_{}_{}"


def consent_panel_columns(request) -> dict:
    in_force = PolicyVersion.objects.published().filter(effective_date__lte=timezone.localdate()).order_by(
        "-effective_date", "-published_at")  # PolicyVersion.objects.in_force()
    latest = PolicyAcceptance.objects.filter(subject=OuterRef("pk"))  # newest first (the model's ordering)
    return {
        **{COLUMN.format("in_force", name): Subquery(in_force.values(name)[:1]) for name in IN_FORCE},
        **{COLUMN.format("accepted", name): Subquery(latest.values(name)[:1]) for name in LAST_ACCEPTED},
        COLUMN.format("accepted", "version"): Subquery(latest.values("version__version")[:1]),
    }


def _columns(subject, prefix: str, names) -> list:
    return [getattr(subject, COLUMN.format(prefix, name)) for name in names]


def _from_columns(subject) -> tuple[PolicyVersion | None, PolicyAcceptance | None]:
    """The version in force and the latest acceptance as the subject's row brought them; the fields
    not read are deferred, as with ``only()``."""
    db = subject._state.db
    in_force = _columns(subject, "in_force", IN_FORCE)
    version_in_force = PolicyVersion.from_db(db, IN_FORCE, in_force) if in_force[0] is not None else None
    accepted = _columns(subject, "accepted", LAST_ACCEPTED)
    if accepted[0] is None:
        return version_in_force, None
    last_accepted = PolicyAcceptance.from_db(db, LAST_ACCEPTED, accepted)
    last_accepted.version = PolicyVersion.from_db(
        db, IN_FORCE, [last_accepted.version_id, getattr(subject, COLUMN.format("accepted", "version"))])
    return version_in_force, last_accepted


def consent_panel_context(request, subject) -> dict:
    acceptances = PolicyAcceptance.objects.filter(subject=subject).select_related("version")[:10]
    if hasattr(subject, COLUMN.format("accepted", "id")):
        version_in_force, last_accepted = _from_columns(subject)
    else:  # a subject read without the panel's columns
        version_in_force, last_accepted = PolicyVersion.objects.in_force(), acceptances.first()
    consents = list(Consent.objects.filter(subject=subject).select_related("purpose").order_by("purpose__clause"))
    return {
        "subject": subject,
        "version_in_force": version_in_force,
        "last_accepted": last_accepted,
        "acceptances": acceptances,  # the latest ten, read only if a template lists them
        "consents": consents,
        "can_withdraw": request.user.has_perm("consents.change_consent"),
    }


register_subject_panel(
    SubjectPanel(
        title=_("Privacy policy and consents"),
        template="admin/consents/subject_panel.html",
        context=consent_panel_context,
        permission="consents.view_consent",
        order=20,
        columns=consent_panel_columns,
    )
)
