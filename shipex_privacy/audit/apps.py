from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save, pre_migrate
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "shipex_privacy.audit"
    label = "audit"
    verbose_name = _("Audit")

    def ready(self) -> None:
        from simple_history.signals import (
            post_create_historical_m2m_records,
            post_create_historical_record,
            pre_create_historical_record,
        )

        from . import checks, history, tamper, trail  # noqa: F401 (checks registers itself)
        from .guards import install_guards_after_migrate

        pre_create_historical_record.connect(history.stamp_request_address)
        # One searchable trail entry per history row, in the same transaction (audit/trail.py).
        post_create_historical_record.connect(trail.record_entry, dispatch_uid="audit_trail_entry")
        # After every migrate, because SQLite drops a table's triggers when it rebuilds the table.
        post_migrate.connect(install_guards_after_migrate, sender=self)
        # Tamper evidence (docs/audit.md): every append-only row gets its digest in the transaction
        # that writes it; the handler itself skips every model that is not append-only.
        post_save.connect(tamper.digest_saved_row, dispatch_uid="audit_digest_saved_row")
        post_create_historical_m2m_records.connect(
            tamper.digest_m2m_history_rows, dispatch_uid="audit_digest_m2m_history_rows"
        )
        # Rows that data migrations write, with models that send no signals, are digested at the end.
        pre_migrate.connect(tamper.remember_rows_before_migrate, sender=self)
        # Trail entries for history rows that data migrations wrote (before the digests are adopted).
        post_migrate.connect(trail.record_missing_entries, sender=self)
        post_migrate.connect(tamper.digest_rows_written_by_migrate, sender=self)
        from . import home  # noqa: F401  (registers this app's lines on the role homes, core/home.py)
