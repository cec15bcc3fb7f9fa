"""The consents panel of the subject page: policy version in force, acceptances, consents."""

from django.utils.translation import gettext_lazy as _

from shipex_privacy.subjects.panels import SubjectPanel, register_subject_panel

from .models import Consent, PolicyAcceptance, PolicyVersion


def consent_panel_context(request, subject) -> dict:
    acceptances = list(PolicyAcceptance.objects.filter(subject=subject).select_related("version")[:10])
    consents = list(Consent.objects.filter(subject=subject).select_related("purpose").order_by("purpose__clause"))
    return {
        "subject": subject,
        "version_in_force": PolicyVersion.objects.in_force(),
        "last_accepted": acceptances[0] if acceptances else None,
        "acceptances": acceptances,
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
    )
)
