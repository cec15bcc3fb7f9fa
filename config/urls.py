from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from shipex_privacy.jobs.health import healthz

admin.site.site_header = _("ShipEx · Personal data")
admin.site.site_title = _("ShipEx privacy back office")
admin.site.index_title = _("Privacy back office")
# Few models per role: the page width is worth more than a sidebar repeating the index.
admin.site.enable_nav_sidebar = False

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", include("shipex_privacy.api.urls")),
    path("public/", include("shipex_privacy.consents.urls")),
    # For load balancers and monitors: database, broker, last job runs; no sign-in, no personal data.
    path("healthz", healthz, name="healthz"),
]

# Error pages in the staff member's language, saying what to do (core/errors.py).
handler403 = "shipex_privacy.core.errors.permission_denied"
handler404 = "shipex_privacy.core.errors.page_not_found"
handler500 = "shipex_privacy.core.errors.server_error"
