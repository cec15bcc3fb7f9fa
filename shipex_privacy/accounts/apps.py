from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "shipex_privacy.accounts"
    label = "accounts"
    verbose_name = _("Staff accounts")

    def ready(self) -> None:
        from .roles import sync_roles_after_migrate

        # Permissions of new models exist only after migrate's own post_migrate step, so the
        # roles are brought in line with the code after every migrate, not only once.
        post_migrate.connect(sync_roles_after_migrate, sender=self)
