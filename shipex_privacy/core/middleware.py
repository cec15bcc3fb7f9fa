from csp.constants import SELF
from csp.middleware import CSPMiddleware
from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

API_PREFIX = "/api/"


class ChosenLanguageMiddleware(LocaleMiddleware):
    """Uzbek unless the staff member chose another language in the header; the API follows Accept-Language.

    Django's LocaleMiddleware would follow the browser's Accept-Language, and most browsers in
    the office say English or Russian; the back office speaks Uzbek first, as the policy does.
    """

    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        if request.path.startswith(API_PREFIX):
            # ShipEx's systems are not office browsers: the API follows Accept-Language (Uzbek without one).
            language = translation.get_language_from_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's CONTENT_SECURITY_POLICY, except for pages that may be framed.

    A view that opted out of X-Frame-Options (``@xframe_options_exempt``: the public cookie
    register, which the ShipEx website embeds) gets ``frame-ancestors 'self'`` and the website's
    origins (SHIPEX_WEBSITE_ORIGINS) instead of ``'none'``, so that the two headers always agree
    and the decision stays in one place, on the view.
    """

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only)
        if getattr(response, "xframe_options_exempt", False):
            parts.replace = {**(parts.replace or {}), "frame-ancestors": [SELF, *settings.SHIPEX_WEBSITE_ORIGINS]}
        return parts
