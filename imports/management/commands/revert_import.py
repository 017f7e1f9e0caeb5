import json

from django.core.management.base import BaseCommand, CommandError

from core import clock
from core.db_lock import OneLineFailures
from imports.models import ImportRun
from imports.reverting import CHANGED, DELETED, CannotRevert, revert_run
from imports.runs import fail_abandoned_runs

SHOWN_SKIPPED = 20


class Command(OneLineFailures, BaseCommand):
    help = (
        "Revert an import run (its id: --json of import_leads/import_agents, or the admin's import history): delete "
        "the records it created and restore, field by field, the values it overwrote, in one transaction. A record "
        f"{CHANGED} (edited, assigned, imported again) or {DELETED} is left as it is and listed. --dry-run does "
        "it all and rolls back. Exit 0 when everything was reverted, 1 when some records were skipped, 2 for a run "
        "that cannot be reverted (unknown, a dry run, failed, cancelled, not finished, already reverted)."
    )

    def add_arguments(self, parser):
        parser.add_argument("run", type=int, help="the import run's id")
        parser.add_argument("--dry-run", action="store_true", help="do everything, then roll back: nothing changes")
        parser.add_argument("--json", action="store_true", help="print exactly one JSON object")

    def handle(self, *args, **options):
        as_of = clock.now()
        fail_abandoned_runs(as_of)
        run = ImportRun.objects.filter(pk=options["run"]).first()
        if run is None:
            raise CommandError(f"No import run #{options['run']}.", returncode=2)
        try:
            result = revert_run(run=run, dry_run=options["dry_run"], source="revert_import", as_of=as_of)
        except CannotRevert as exc:
            raise CommandError(str(exc), returncode=2) from None
        if options["json"]:
            self.stdout.write(json.dumps(result.to_dict()))
        else:
            self.stdout.write(
                f"Import #{run.pk}: {result.deleted} {run.kind}s deleted, {result.restored} restored, "
                f"{result.skipped} skipped."
            )
            for record in result.skipped_records[:SHOWN_SKIPPED]:
                self.stdout.write(f"  {', '.join(str(v) for v in record.values())}")
            if result.skipped > SHOWN_SKIPPED:
                self.stdout.write(f"  ... and {result.skipped - SHOWN_SKIPPED} more (--json lists them all).")
            if result.dry_run:
                self.stdout.write("Dry run: nothing was changed.")
        if result.skipped:
            kept = "will be left" if result.dry_run else "were left"
            raise CommandError(
                f"{result.skipped} records {kept} as they were (changed or deleted after the import).", returncode=1
            )
