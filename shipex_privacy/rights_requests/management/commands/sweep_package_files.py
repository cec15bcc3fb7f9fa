"""Remove access-package files that no row names, and temporary files left by a killed build."""

from django.core.management import BaseCommand

from shipex_privacy.rights_requests.package_files import sweep_package_files


class Command(BaseCommand):
    help = ("Remove access-package files that no package row names and temporary files older than a day. "
            "Run it daily from the scheduler.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List what would be removed; remove nothing.")

    def handle(self, *args, dry_run=False, **options):
        sweep = sweep_package_files(dry_run=dry_run)
        verb = "Would remove" if dry_run else "Removed"
        for name in sweep.orphans:
            self.stdout.write(f"{verb} (no package row): {name}")
        for name in sweep.stale:
            self.stdout.write(f"{verb} (temporary, older than a day): {name}")
        self.stdout.write(self.style.SUCCESS(
            f"{verb} {len(sweep.orphans)} orphan files and {len(sweep.stale)} temporary files; "
            f"{sweep.kept} package files kept."))
