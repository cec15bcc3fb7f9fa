from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "shipex_privacy.integrations"
    label = "integrations"
    verbose_name = _("Integrations")

    def ready(self) -> None:
        # Requests that need work in other systems write their outbox messages here, and wait for
        # the systems' answers before they may close as done.
        from shipex_privacy.rights_requests import access_package
        from shipex_privacy.rights_requests import services as requests

        from . import services

        if services.outbox_write not in requests.SYSTEM_WORK:
            requests.SYSTEM_WORK.append(services.outbox_write)
            requests.DONE_WAITS_FOR.append(services.systems_still_working)
        # The parts of an access package the systems sent come into the package they belong to.
        if services.package_parts not in access_package.SYSTEM_PARTS:
            access_package.SYSTEM_PARTS.append(services.package_parts)
