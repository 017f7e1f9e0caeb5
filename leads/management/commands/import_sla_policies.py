import json

from django.core.management.base import BaseCommand, CommandError

from leads.sla_policies import PoliciesFileError, RefusedFile, import_policies_file


class Command(BaseCommand):
    help = (
        "Replace every SLA policy with a CSV file's, in one transaction. Columns exactly: team, first_touch_hours, "
        "remind_at_hours, escalate_after_hours, reassign_after_hours, max_reassignments, recycle_stale_after_days "
        "(any order); an empty team is the default policy, an empty value switches that step off. An unknown team or "
        "column, a team (or the default) twice, a value that is not a number above 0, or steps in an order that "
        "makes no sense (a reminder after the first-touch deadline, an escalation or reassignment before it or "
        "before the reminder) refuses the file with each problem's line and column, nothing changed. Exit 0 when "
        "replaced, 2 when refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", metavar="FILE")
        parser.add_argument("--json", action="store_true", help='print {"policies": n, "replaced": n}')

    def handle(self, *args, **options):
        try:
            result = import_policies_file(path=options["path"])
        except (RefusedFile, PoliciesFileError) as exc:
            raise CommandError(str(exc), returncode=2) from None
        if options["json"]:
            self.stdout.write(json.dumps(result.to_dict()))
        else:
            self.stdout.write(f"{result.policies} SLA policies imported; {result.replaced} replaced.")
