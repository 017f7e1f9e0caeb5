import json

from django.core.management.base import BaseCommand

from core.db_lock import OneLineFailures
from leads.load_counts import rebuild_load_counts


class Command(OneLineFailures, BaseCommand):
    help = (
        "Recompute every agent's load counters (open and `new` leads) from the leads, under the assignment lock, "
        "and name the agents whose counters were wrong. Never needed while the triggers run (verify_assignments "
        "checks it): only after someone disabled them or edited the database by hand. Exit 0."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args, **options):
        result = rebuild_load_counts()
        if options["json"]:
            self.stdout.write(json.dumps(result.to_dict(), indent=2))
            return
        self.stdout.write(f"Rebuilt the load counters of {result.rows} agents holding leads.")
        for email, columns in result.repaired.items():
            changes = ", ".join(f"{column.replace('_', ' ')} {was} -> {now}" for column, (was, now) in columns.items())
            self.stdout.write(f"  repaired {email}: {changes}")
        if not result.repaired:
            self.stdout.write("Every counter was already right.")
