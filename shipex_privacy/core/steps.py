"""One mechanism for the workflow steps of every app (issue 13).

A step is a page of its own beside a record's change page: it shows what the step will do, asks
for what it needs, then runs one service. Like Django's ``UserAdmin`` and its password page, the
record is read with ``get_object`` (so the admin's own queryset applies) and then the permission
is checked — ``has_change_permission`` for the record, or the step's own permission when it has
one — so a role that may only read gets the 403 page on GET and on POST alike.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path, reverse

from .admin import admin_page

STEP_TEMPLATE = "admin/step.html"


class StepAdminMixin:
    """For a ModelAdmin with step pages: declare them with ``step_urls`` and write each view with ``step``.

    ``step_permission``: the permission every step of this admin needs unless the step names its own;
    ``None`` means ``has_change_permission(request, obj)``.
    """

    step_permission: str | None = None
    # Show a service's refusal above the form (True) rather than as a message at the top of the page.
    step_refusals_in_form = False
    step_names: tuple[str, ...] = ()

    def step_urls(self, *routes) -> list:
        """``(route, view, name)`` triples as URL patterns; the names are kept so that tests (and
        anyone else) can walk every step page of every admin."""
        self.step_names = tuple(name for _route, _view, name in routes)
        return [path(route, self.admin_site.admin_view(view), name=name) for route, view, name in routes]

    def has_step_permission(self, request, obj, permission: str | None = None) -> bool:
        permission = permission or self.step_permission
        if permission is None:
            return self.has_change_permission(request, obj)
        return request.user.has_perm(permission)

    def step_object(self, request, pk, permission: str | None = None):
        """The record of a step page, or 404; then the permission, or 403."""
        obj = self.get_object(request, str(pk))
        if obj is None:
            raise Http404
        if not self.has_step_permission(request, obj, permission):
            raise PermissionDenied
        return obj

    def step_back_url(self, obj) -> str:
        opts = self.model._meta
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])

    def step(self, request, pk, *, title, done, run, form_class=None, make_form=None, permission=None, obj=None,
             back=None, success_url=None, refused_url=None, **context):
        """The step page: GET shows it, POST runs ``run(obj, cleaned_data)``.

        A refusal (``ValidationError``, or ``PermissionDenied`` from the service, e.g. four eyes) comes
        back as messages, with nothing changed, on the same page (or ``refused_url``). On success the
        message ``done % {"id": obj.pk}`` and a redirect to ``success_url(obj, result)`` or the record's page.
        """
        if obj is None:
            obj = self.step_object(request, pk, permission)
        elif not self.has_step_permission(request, obj, permission):
            raise PermissionDenied
        back = back or self.step_back_url(obj)
        # Bound on any POST: a confirmation with no fields still posts (an empty QueryDict is falsy).
        data = request.POST if request.method == "POST" else None
        if make_form is None:
            make_form = (lambda _obj, data: form_class(data)) if form_class else (lambda _obj, _data: None)
        form = make_form(obj, data)
        if request.method == "POST" and (form is None or form.is_valid()):
            try:
                result = run(obj, form.cleaned_data if form is not None else {})
            except ValidationError as error:
                if self.step_refusals_in_form and hasattr(form, "add_error"):
                    form.add_error(None, error)
                else:
                    self.step_refused(request, error.messages)
                if refused_url:
                    return redirect(refused_url)
            except PermissionDenied as error:  # e.g. four eyes: the approver created the disclosure
                self.step_refused(request, [str(error)])
                if refused_url:
                    return redirect(refused_url)
            else:
                self.message_user(request, done % {"id": obj.pk}, messages.SUCCESS)
                return redirect(success_url(obj, result) if success_url else back)
        context.setdefault("submit_label", title)
        context.setdefault("submit_name", "confirm")
        return admin_page(self, request, STEP_TEMPLATE, title, obj=obj, form=form, back=back, **context)

    def step_refused(self, request, texts) -> None:
        for text in texts:
            self.message_user(request, text, messages.ERROR)
