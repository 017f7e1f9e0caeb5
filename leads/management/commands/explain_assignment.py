import json
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from leads.explanation import explain_assignment, find_lead


class Command(BaseCommand):
    help = (
        "Why a lead has its agent, read back from its latest assignment run: the rule and pool, the eligible "
        "agents with their loads, weights, shares and caps, the skipped ones and why, the seed, and why this "
        "agent. LEAD is an id (digits) or an email (case and spaces ignored). "
        "Exit 0: explained (also a lead never assigned); 1: no such lead; 2: bad arguments."
    )

    def add_arguments(self, parser):
        parser.add_argument("lead", metavar="EMAIL|ID", help="the lead's id or email")
        parser.add_argument("--json", action="store_true", help="print the explanation as a JSON object")

    def handle(self, *args, lead: str, json: bool, **options):
        ref = lead.strip()
        if not ref.isdigit() and "@" not in ref:
            raise CommandError(f"EMAIL|ID expected: {lead!r} is neither a lead id nor an email.", returncode=2)
        found = find_lead(ref)
        if found is None:
            kind = "id" if ref.isdigit() else "email"
            raise CommandError(f"No lead with {kind} {ref!r}.", returncode=1)
        explanation = explain_assignment(found)
        if json:
            self.stdout.write(_json(explanation.to_dict()))
        else:
            self.write_text(explanation.to_dict())

    def write_text(self, data: dict):
        lead = data["lead"]
        self.stdout.write(f"Lead {lead['id']}: {lead['name']} <{lead['email']}>, agent {data['agent'] or 'none'}")
        change = data["assignment"]
        if change:
            self.stdout.write(f"Latest change: {_when(change['at'])}, {change['change']} by {change['by']}")
            self.stdout.write(f"  ({change['why']})")
        if data["pool"] is not None:
            self.stdout.write(f"Rule: {data['rule'] or 'none matched'}; pool: {data['pool']['label']}")
        if change:
            balance = data["balance"] or "not recorded"
            seed = "none" if data["seed"] is None else data["seed"]
            as_of = _when(data["as_of"]) if data["as_of"] else "not recorded"
            self.stdout.write(f"Run {change['run']}: seed {seed}, as of {as_of}, balance {balance}")
        if data["eligible"]:
            self.stdout.write("Eligible:")
            rows = [["agent", "load", "weight", "share", "capacity", "daily cap", "today", "given", ""]]
            for row in data["eligible"]:
                mark = "chosen" if row["chosen"] else ("tied" if row["tied"] else "")
                columns = ("email", "load", "weight", "share", "capacity", "daily_cap", "received_today", "given")
                rows.append([*(row[c] for c in columns), mark])
            self.write_table(rows)
        if data["skipped"]:
            self.stdout.write("Skipped:")
            self.write_table([[row["email"], row["why"]] for row in data["skipped"]])
        self.stdout.write(f"Why: {data['why']}")

    def write_table(self, rows):
        cells = [["-" if v is None else str(v) for v in row] for row in rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
        for row in cells:
            self.stdout.write("  " + "  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


def _when(iso: str) -> str:
    return f"{timezone.localtime(datetime.fromisoformat(iso)):%Y-%m-%d %H:%M %Z}"


def _json(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
