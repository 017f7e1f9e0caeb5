from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from leads.routing import export_rules


class Command(BaseCommand):
    help = (
        "Write the routing rules as CSV (the columns import_routing_rules reads), to stdout or --out FILE; "
        "importing the file gives the same rules. Exit 0, 2 when the file cannot be written."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", metavar="FILE", help="write here instead of stdout (replaced if it exists)")

    def handle(self, *args, **options):
        if not options["out"]:
            export_rules(self.stdout)
            return
        path = Path(options["out"])
        try:
            with open(path, "w", encoding="utf-8", newline="") as out:
                count = export_rules(out)
        except OSError as exc:
            raise CommandError(f"{path}: cannot be written ({exc.strerror or exc}).", returncode=2) from None
        self.stderr.write(f"{count} routing rules written to {path}.")
