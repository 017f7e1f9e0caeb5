import json

from django.core.management.base import BaseCommand, CommandError

from core.clock import AS_OF_HELP, parse_as_of
from core.db_lock import OneLineFailures
from leads.sla import SlaError, enforce_sla


class Command(OneLineFailures, BaseCommand):
    help = (
        "Chase the leads nobody touches, by the SLA policies (import_sla_policies): remind the agent, tell the "
        "team's managers, give the lead to another eligible agent of its pool who never held it, and send leads "
        "without activity back to their pool; hours count in each agent's working hours and time zone, skipping "
        "holidays, from the lead's latest assignment. What the run changes takes --as-of as its time. Idempotent: a "
        "second run at the same moment does nothing. Exit 0; 2 on bad arguments."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help=AS_OF_HELP)
        parser.add_argument("--dry-run", action="store_true", help="Say what would happen; write nothing.")
        parser.add_argument("--seed", type=int, help="Seed of the tie-breaks between agents (default: a new one).")
        parser.add_argument(
            "--json",
            action="store_true",
            help='Print {"as_of", "reminded": n, "escalated": n, "reassigned": n, "recycled": n, "run": id}.',
        )

    def handle(self, *args, **options):
        try:
            result = enforce_sla(as_of=parse_as_of(options["as_of"]), dry_run=options["dry_run"], seed=options["seed"])
        except SlaError as exc:
            raise CommandError(str(exc), returncode=exc.returncode) from None
        if options["json"]:
            self.stdout.write(json.dumps(result.to_dict(), indent=2))
            return
        head = (
            "Dry run, nothing written"
            if result.dry_run
            else (f"Run {result.run_id}" if result.run_id else "Nothing due")
        )
        self.stdout.write(
            f"{head} (as of {result.as_of.isoformat()}): {result.reminded} reminded, {result.escalated} escalated, "
            f"{result.reassigned} reassigned, {result.recycled} recycled."
        )
        if result.waiting:
            self.stderr.write(
                f"{result.waiting} leads were due to move but no eligible agent who never held them could take them."
            )
