"""The admin site, which asks staff for a TOTP code as well as a password when two-factor is on.

``ShipExAdminConfig`` replaces ``django.contrib.admin`` in INSTALLED_APPS (Django's documented way
to swap the default site), so every ``@admin.register`` and ``admin.site`` keeps working.

Two-factor is switched by ``SHIPEX_TWO_FACTOR_REQUIRED``: on in base and production settings, off
in the demo (local) and test settings, which say so on the login page. It is read per request, so
a test can turn it on with ``override_settings``.
"""

import inspect
from functools import wraps

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.options import BaseModelAdmin
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.functional import SimpleLazyObject


def two_factor_required() -> bool:
    return getattr(settings, "SHIPEX_TWO_FACTOR_REQUIRED", True)


def possible_ids_only(view):
    """``view`` of a ModelAdmin, answering 404 when an id in its URL cannot be a key of its model.

    Django's own change and delete views treat ``/admin/app/model/abc/change/`` as "not found";
    simple-history's history views (``object_id``, and ``version_id``: a row of the history
    table) and views written like them would hand ``abc`` to the database and fail with a server
    error. Checked here once, for every admin view of a model.
    """
    model_admin = getattr(view, "__self__", None)
    if not isinstance(model_admin, BaseModelAdmin):
        return view
    try:
        signature = inspect.signature(view)
    except (TypeError, ValueError):
        return view
    model = model_admin.model
    keys = {}
    if "object_id" in signature.parameters:
        keys["object_id"] = model._meta.pk
    history = getattr(model._meta, "simple_history_manager_attribute", None)
    if history and "version_id" in signature.parameters:
        # Only for the views that take one: Django wraps each admin view here on every request, and
        # reading ``Model.history`` builds a manager class each time.
        keys["version_id"] = getattr(model, history).model._meta.pk
    if not keys:
        return view

    @wraps(view)
    def checked(request, *args, **kwargs):
        arguments = signature.bind_partial(request, *args, **kwargs).arguments
        for name, key in keys.items():
            value = arguments.get(name)
            if value is None:
                continue
            try:
                key.to_python(unquote(value))
            except ValidationError:
                raise Http404(f"No {model_admin.opts.verbose_name} has the id {value!r}.") from None
        return view(request, *args, **kwargs)

    return checked


class ShipExAdminSite(admin.AdminSite):
    def admin_view(self, view, cacheable=False):
        # The permission check (and the login redirect) first, then the id.
        return super().admin_view(possible_ids_only(view), cacheable)

    @property
    def login_form(self):
        if two_factor_required():
            # Imported here: this module is loaded while the app registry is still being filled.
            from .login import TwoFactorLoginForm

            return TwoFactorLoginForm
        return None  # Django's AdminAuthenticationForm

    def has_permission(self, request) -> bool:
        """Staff, and, when two-factor is on, verified by their authenticator in this session.

        A session signed in with the password alone (or by ``force_login``) is sent to the login
        page. Without django-otp's middleware nobody is verified: this fails closed.
        """
        if not super().has_permission(request):
            return False
        if not two_factor_required():
            return True
        is_verified = getattr(request.user, "is_verified", None)
        return bool(is_verified and is_verified())

    def index(self, request, extra_context=None):
        """The role's home (core/home.py): what needs this staff member now; the list of pages below it."""
        from .home import home_sections

        return super().index(request, {"home_sections": home_sections(request.user), **(extra_context or {})})

    def each_context(self, request) -> dict:
        # Django builds the app list of the sidebar (each registered admin's permissions and URLs) for
        # every admin page; the sidebar is off (config/urls.py), so the list is built, for this request
        # as before, only if a template reads it.
        request._app_list_on_demand = True
        try:
            context = super().each_context(request)
        finally:
            del request._app_list_on_demand
        return {**context, "two_factor_required": two_factor_required()}

    def get_app_list(self, request, app_label=None):
        if getattr(request, "_app_list_on_demand", False):
            return SimpleLazyObject(lambda: super(ShipExAdminSite, self).get_app_list(request, app_label))
        return super().get_app_list(request, app_label)


class ShipExAdminConfig(AdminConfig):
    default_site = "shipex_privacy.core.admin_site.ShipExAdminSite"
