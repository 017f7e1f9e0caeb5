from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from leads.sla_policies import export_policies


class Command(BaseCommand):
    help = (
        "Write the SLA policies as CSV (the columns import_sla_policies reads; the default policy first, with an "
        "empty team), to stdout or --out FILE; importing the file gives the same policies. Exit 0, 2 when the file "
        "cannot be written."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", metavar="FILE", help="write here instead of stdout (replaced if it exists)")

    def handle(self, *args, **options):
        if not options["out"]:
            export_policies(self.stdout)
            return
        path = Path(options["out"])
        try:
            with open(path, "w", encoding="utf-8", newline="") as out:
                count = export_policies(out)
        except OSError as exc:
            raise CommandError(f"{path}: cannot be written ({exc.strerror or exc}).", returncode=2) from None
        self.stderr.write(f"{count} SLA policies written to {path}.")
