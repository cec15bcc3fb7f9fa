"""Sections of the subject page that other apps add without this app knowing them.

A workflow app (consents, disclosures, requests) registers a panel in its ``AppConfig.ready()``:

    register_subject_panel(SubjectPanel(
        title=_("Consents"), template="admin/consents/subject_panel.html",
        context=lambda request, subject: {"consents": subject.consents.all()[:20]},
        permission="consents.view_consent", order=30,
    ))

The subject page renders each panel the user may see, in ``order``, with the panel's context.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest


@dataclass(frozen=True)
class SubjectPanel:
    title: str
    template: str
    context: Callable[[HttpRequest, object], dict]
    permission: str | None = None
    order: int = 100


_panels: list[SubjectPanel] = []


def register_subject_panel(panel: SubjectPanel) -> None:
    if panel not in _panels:
        _panels.append(panel)


def panels_for(request: HttpRequest, subject) -> list[dict]:
    return [
        {"title": panel.title, "template": panel.template, **panel.context(request, subject)}
        for panel in sorted(_panels, key=lambda panel: panel.order)
        if panel.permission is None or request.user.has_perm(panel.permission)
    ]
