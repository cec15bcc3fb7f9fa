"""Responses to the subject, drafted from the compliance team's templates in the subject's language.

Builds on the erasure's report; the workflow (``services``) and the erasure do not import it.
"""

from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from shipex_privacy.protection.letters import responsible_person_text
from shipex_privacy.subjects.models import DataSubject

from .erasure import erasure_report
from .models import ResponseTemplate, SubjectRequest


def response_language(request: SubjectRequest) -> str:
    """The language the subject had when the request was matched, or Uzbek (the default)."""
    if request.response_language:
        return request.response_language
    return request.subject.preferred_language if request.subject_id else DataSubject.Language.UZ


def _erasure_lines(request: SubjectRequest) -> str:
    if request.kind != SubjectRequest.Kind.ERASURE:
        return ""
    return "\n".join(f"- {line}" for line in erasure_report(request))


def response_from_template(request: SubjectRequest, outcome: str, *, extension_reason: str = "") -> str:
    """The response to the subject drafted from the template of the request's kind, in the
    subject's language, filled from the request. Writes nothing: the agent reviews it first.

    A *done* letter is drafted only once the request may close as done: it never tells the subject
    that something is done while it is not (a withdrawal not recorded, a task still open)."""
    if outcome == ResponseTemplate.Outcome.DONE and (missing := request.work_missing()):
        raise ValidationError(missing)
    language = response_language(request)
    template = ResponseTemplate.objects.filter(kind=request.kind, outcome=outcome, language=language).first()
    if template is None:
        raise ValidationError(_("There is no response template for this kind, outcome and language; the "
                                "compliance team can add one."))
    package = request.access_packages.first()
    with translation.override(language):
        values = {
            "request_id": str(request.pk),
            "subject_name": (request.subject.full_name if request.subject_id else "") or request.requester_name,
            "received_on": f"{timezone.localtime(request.received_at):%d.%m.%Y}",
            "closed_on": f"{timezone.localdate():%d.%m.%Y}",
            "kind": str(request.get_kind_display()),
            "package_sha256": package.sha256 if package else "",
            "erasure_report": _erasure_lines(request),
            "due_on": f"{timezone.localtime(request.due_at):%d.%m.%Y}" if request.due_at else "",
            "extension_reason": extension_reason,
        }
    if missing := sorted(name for name in template.placeholders() if not values[name]):
        raise ValidationError(_("The template needs %(names)s, which this request does not have yet.") % {
            "names": ", ".join(f"{{{name}}}" for name in missing)})
    try:
        letter = template.render(values)
    except (ValueError, KeyError, IndexError, AttributeError):  # a text saved without the admin's checks
        raise ValidationError(_("The response template cannot be filled in; the compliance team must correct "
                                "it.")) from None
    # Every letter tells the subject who answers for their data at ShipEx (ZRU-547 arts. 8 and 31).
    responsible = responsible_person_text(language=language)
    return f"{letter}\n\n{responsible}" if responsible else letter


def extension_letter(request: SubjectRequest, *, reason: str) -> str:
    """The letter telling the subject that the deadline of ``request`` (already moved) is extended,
    and why, from the compliance team's template in the subject's language."""
    return response_from_template(request, ResponseTemplate.Outcome.EXTENDED, extension_reason=reason)
