import json

from django.core.management.base import BaseCommand, CommandError

from core.clock import AS_OF_HELP, parse_as_of
from core.db_lock import OneLineFailures
from leads.assignment import AssignmentError, assign_leads
from leads.classification import PRIORITY


class Command(OneLineFailures, BaseCommand):
    help = (
        "Give every unassigned open lead to an agent of its pool (the first routing rule that matches it names a "
        "team; no rule: ROUTING_DEFAULT_TEAM, or every agent): each lead to an eligible agent (active, not absent, "
        "inside working hours at --as-of, below capacity and today's daily cap) with the lowest weighted load at "
        "that moment (ROUTING_BALANCE), ties broken at random (--seed makes the run reproducible). Leads whose pool "
        "has nobody eligible wait, reported per pool. One transaction, recorded as an AssignmentRun. "
        "Exit 0 when every selected lead was placed, 1 when some could not be (nobody eligible, no room) or no agent "
        "is active (then nothing changes), 2 for bad arguments."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--seed", type=int, help="Seed of the random tie-breaks and shuffle (default: a new one, reported)."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Print the plan (leads per agent before/after), write nothing."
        )
        parser.add_argument(
            "--classification",
            help=f"Only leads of these classes, comma-separated ({','.join(c.value for c in PRIORITY)}).",
        )
        parser.add_argument("--limit", type=int, help="Assign at most N leads, most urgent first.")
        parser.add_argument(
            "--rebalance",
            action="store_true",
            help="First take back leads from inactive agents and above capacity, move `new` leads from the most "
            "to the least loaded agents until balanced, then assign the rest.",
        )
        parser.add_argument(
            "--reroute",
            action="store_true",
            help="Also move unworked (`new`) leads whose rule now names a pool their agent is not in.",
        )
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
        parser.add_argument("--as-of", help=AS_OF_HELP)

    def handle(self, *args, **options):
        classes = options["classification"].split(",") if options["classification"] is not None else None
        try:
            result = assign_leads(
                seed=options["seed"],
                classifications=classes,
                limit=options["limit"],
                rebalance=options["rebalance"],
                reroute=options["reroute"],
                dry_run=options["dry_run"],
                as_of=parse_as_of(options["as_of"]),
            )
        except AssignmentError as exc:
            raise CommandError(str(exc), returncode=exc.returncode) from None

        if options["json"]:
            self.stdout.write(json.dumps(result.to_dict(), indent=2))
        else:
            self.stdout.write(render_result(result))
        for note in result.notes:
            self.stderr.write(note)
        for line in waiting_lines(result):
            self.stderr.write(line)
        if result.unassigned_left:
            raise CommandError(
                f"{result.unassigned_left} open leads could not be placed: no eligible agent has room left"
                + (" in their pool." if result.waiting else "."),
                returncode=1,
            )


def waiting_lines(result) -> list[str]:
    """One line per pool whose leads wait: how many, why, and when the next agent becomes available."""
    lines = []
    for label, n in result.waiting.items():
        report = result.pools[label]
        when = report.next_available
        back = f"; next agent available {when.isoformat()}" if when else ""
        lines.append(f"Pool {label}: {n} leads wait ({report.why_waiting()}{back}); the next run places them.")
    return lines


def render_result(result) -> str:
    head = "Plan (dry run, nothing written)" if result.dry_run else f"Run {result.run_id}"
    lines = [
        f"{head}: seed {result.seed}; {result.assigned} assigned, {result.moved} moved, "
        f"{result.unassigned} taken back without a new agent, {result.unassigned_left} left unassigned; "
        f"spread {result.spread}.",
        "",
        f"{'agent':<40} {'active':>6} {'capacity':>8} {'before':>7} {'taken':>6} {'added':>6} {'after':>7}",
    ]
    after = result.after
    for email, before in result.before.items():
        capacity = result.capacity[email]
        lines.append(
            f"{email:<40} {'yes' if result.active[email] else 'no':>6} {'-' if capacity is None else capacity:>8} "
            f"{before:>7} {result.taken.get(email, 0):>6} {result.added.get(email, 0):>6} {after[email]:>7}"
        )
    return "\n".join(lines)
