import json

from django.core.checks import Tags
from django.core.management.base import BaseCommand
from django.utils import timezone

from core.clock import AS_OF_HELP, parse_as_of
from leads.classification import LeadClass
from leads.reports import classification_report


class Command(BaseCommand):
    # Only the checks of the models this read-only report reads: the URL checks import the whole URLconf (the intake
    # API's schemas, the admin's pages), a large share of the start-up, for nothing this command uses.
    # `manage.py check` and runserver still run every check.
    requires_system_checks = [Tags.models]
    help = (
        "Count leads by class (fresh, urgent, active, stale, closed), overall and per agent, at one moment "
        "(--as-of, default now). Exit 0; 2 on a bad --as-of."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help=AS_OF_HELP)
        parser.add_argument(
            "--json",
            action="store_true",
            help='print {"as_of", "counts": {class: n}, "total", "per_agent": {email or "unassigned": {class: n}}}',
        )

    def handle(self, *args, as_of, json: bool, **options):
        report = classification_report(as_of=parse_as_of(as_of))
        if json:
            self.stdout.write(_json(report.to_dict()))
            return
        classes = [c.value for c in LeadClass]
        width = max([len("agent")] + [len(key) for key in report.per_agent])
        self.stdout.write(f"Leads by class as of {timezone.localtime(report.as_of):%Y-%m-%d %H:%M %Z}:")
        for name in classes:
            self.stdout.write(f"  {name:<8}{report.counts[name]:>10}")
        self.stdout.write(f"  {'total':<8}{report.total:>10}")
        if report.per_agent:
            self.stdout.write("")
            self.stdout.write(f"{'agent':<{width}}" + "".join(f"{c:>9}" for c in classes))
            for key, counts in report.per_agent.items():
                self.stdout.write(f"{key:<{width}}" + "".join(f"{counts[c]:>9}" for c in classes))


def _json(data) -> str:
    return json.dumps(data, indent=2)
