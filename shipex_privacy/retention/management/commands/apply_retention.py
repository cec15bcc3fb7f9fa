"""Apply the catalogue's retention rules (1.3.1); ``--dry-run`` lists what a run would do."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import BaseCommand, CommandError

from shipex_privacy.retention.services import retention_apply

SCHEDULER = "scheduler"


class ProgressBar:
    """``[#####.....]  50% 500/1000`` on one line of stderr, redrawn at most once per per cent."""

    def __init__(self, stream, width: int = 30):
        self.stream, self.width, self.shown = stream, width, None

    def __call__(self, done: int, total: int) -> None:
        if not total:
            return
        percent = done * 100 // total
        if percent == self.shown:
            return
        self.shown = percent
        filled = self.width * done // total
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {percent:3d}% {done}/{total}", ending="")
        self.stream.flush()

    def finish(self) -> None:
        if self.shown is not None:
            self.stream.write("")


class Command(BaseCommand):
    help = ("Delete or anonymise personal data past its retention rule, honouring legal holds and statutory "
            "retention; records a run with counts per rule. --dry-run changes nothing and lists what would happen.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Change nothing; list what a run would do.")
        parser.add_argument("--batch-size", type=int, default=1000,
                            help="Records erased per batch, each batch in one transaction (default 1000).")
        parser.add_argument(
            "--as", dest="username",
            help="Staff member named in history as having run it. Without it (the scheduler) history names "
                 "nobody and every reason names the run.")

    def handle(self, *, dry_run: bool, batch_size: int, username: str | None, **options):
        actor = None
        if username:
            actor = get_user_model().objects.filter(username=username, is_active=True, is_staff=True).first()
            if actor is None:
                raise CommandError(f"No active staff member {username!r}.")
        bar = ProgressBar(self.stderr)
        try:
            run = retention_apply(dry_run=dry_run, started_by=username or SCHEDULER, actor=actor,
                                  batch_size=batch_size, progress=bar)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        finally:
            bar.finish()
        self.summary(run)
        if run.error:
            raise CommandError(f"Retention run #{run.pk} finished with errors; the records named were left "
                               f"unchanged:\n{run.error}")

    def summary(self, run) -> None:
        if run.dry_run:
            self.stdout.write(f"Dry run #{run.pk}: nothing was changed. A run now would:")
        else:
            self.stdout.write(f"Retention run #{run.pk}:")
        verbs = ("would delete", "would anonymise") if run.dry_run else ("deleted", "anonymised")
        header = ("rule", "records of", "past retention", *verbs, "held", "failed", "examples")
        rows = [
            (count.rule.code, count.model, count.expired, count.deleted, count.anonymised, count.held, count.failed,
             count.examples)
            for count in run.counts.select_related("rule").order_by("rule__code", "model")
        ]
        widths = [max(len(str(value)) for value in column) for column in zip(header, *rows, strict=False)]
        for values in (header, *rows):
            self.stdout.write("  ".join(str(value).ljust(width) for value, width in zip(values, widths, strict=True))
                              .rstrip())
        notes = [(count.rule.code, count.model, count.note) for count in run.counts.select_related("rule")
                 .exclude(note="").order_by("rule__code", "model")]
        if notes:
            self.stdout.write("Notes:")
            for code, model, note in notes:
                self.stdout.write(f"  {code} · {model}: {note}")
        totals = [sum(row[index] for row in rows) for index in (3, 4, 5)]
        self.stdout.write(self.style.SUCCESS(
            f"{verbs[0].capitalize()}: {totals[0]}; {verbs[1]}: {totals[1]}; kept under a legal hold: {totals[2]}."))
