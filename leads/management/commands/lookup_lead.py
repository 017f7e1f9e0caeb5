import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.clock import AS_OF_HELP, parse_as_of
from leads.lookup import MAX_LIMIT, lookup_leads


class Command(BaseCommand):
    help = (
        "Find leads whose name contains QUERY, ignoring case, accents and extra spaces ('jose muller' finds "
        "'José Müller'). Lists each match, most recent first, with its class and the reason. "
        "Exit 0: found; 1: no match; 2: bad arguments."
    )

    def add_arguments(self, parser):
        parser.add_argument("query", metavar="QUERY", help="part of a name")
        parser.add_argument("--as-of", help=AS_OF_HELP)
        parser.add_argument(
            "--limit", type=int, default=50, help=f"list at most this many matches (default 50, at most {MAX_LIMIT:,})"
        )
        parser.add_argument("--json", action="store_true", help="print a JSON list of objects")

    def handle(self, *args, query, as_of, limit, json: bool, **options):
        if not 1 <= limit <= MAX_LIMIT:
            raise CommandError(f"--limit must be from 1 to {MAX_LIMIT:,}, not {limit}.", returncode=2)
        result = lookup_leads(query, as_of=parse_as_of(as_of), limit=limit)
        if not result.key:
            raise CommandError(f"QUERY {query!r} has no letters or digits to look up.", returncode=2)
        if json:
            self.stdout.write(_json([match.to_dict() for match in result.matches]))
        else:
            self.write_text(result)
        if not result.total:
            raise CommandError(f"No lead's name contains {query!r} (looked up as {result.key!r}).", returncode=1)
        if result.total > len(result.matches):
            (self.stderr if json else self.stdout).write(
                f"Showing the {len(result.matches)} most recent of {result.total} matches (--limit {limit})."
            )

    def write_text(self, result):
        as_of = timezone.localtime(result.as_of)
        for match in result.matches:
            lead, why = match.lead, match.explanation
            agent = lead.assigned_agent.email if lead.assigned_agent else "unassigned"
            self.stdout.write(f"{lead.name} <{lead.email}>" + (f", {lead.phone}" if lead.phone else ""))
            self.stdout.write(
                f"  status {lead.status}, created {timezone.localtime(lead.created_at):%Y-%m-%d %H:%M}, "
                f"{_days(as_of - lead.created_at)} old, agent {agent}"
            )
            self.stdout.write(f"  {why.lead_class.value}: {why.reason}")
        if result.total:
            matches = "match" if result.total == 1 else "matches"
            self.stdout.write(f"{result.total} {matches} as of {as_of:%Y-%m-%d %H:%M %Z}.")


def _days(age) -> str:
    return f"{age.total_seconds() / 86400:.1f} days"


def _json(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
