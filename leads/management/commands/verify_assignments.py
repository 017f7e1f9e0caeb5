import json

from django.core.checks import Tags
from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError

from core.clock import AS_OF_HELP, parse_as_of
from core.db_lock import OneLineFailures, is_lock_timeout, lock_timeout_message
from leads.classification import PRIORITY
from leads.verification import record_verification, verify_assignments


class Command(OneLineFailures, BaseCommand):
    # Only the checks of the models this read-only report reads: the URL checks import the whole URLconf (the intake
    # API's schemas, the admin's pages), a large share of the start-up, for nothing this command uses.
    # `manage.py check` and runserver still run every check.
    requires_system_checks = [Tags.models]
    help = (
        "Check that every open lead is assigned, that no open lead sits with an inactive agent, that no agent "
        "is above capacity, and that the load counters the database keeps equal the real counts (`counters_ok` in "
        "--json). Then, pool by pool (every team a routing rule or ROUTING_DEFAULT_TEAM names, and every agent "
        "when no default team is set): weighted balance (no active member holding a lead of the pool above "
        "(load + 1) / share of any other eligible member; with equal weights, spread <= 1), open leads held "
        "outside the team their rule names (`misrouted`; a failure for `new` ones: run assign_leads --reroute), "
        "leads received over the last ROUTING_WINDOW_DAYS while the agent was absent or outside its working "
        "hours, and agents above their daily cap on a day of their time zone. Prints the agents' loads by class, "
        "the pools and the first unassigned open leads; unassigned closed leads are reported but are not a "
        "failure. The result is stored as a VerificationRun. Exit 0 when everything holds, 1 when a check fails, "
        "2 for bad arguments. `sla_breached` counts the untouched leads past their first-touch time (SLA policies): "
        "reported, a failure only with --strict-sla."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
        parser.add_argument("--as-of", help=AS_OF_HELP)
        parser.add_argument(
            "--strict-sla",
            action="store_true",
            help="Fail (exit 1) when untouched leads are past their first-touch time (`sla_breached`), not only "
            "report it.",
        )

    def handle(self, *args, **options):
        report = verify_assignments(as_of=parse_as_of(options["as_of"]), strict_sla=options["strict_sla"])
        self.stdout.write(json.dumps(report.to_dict(), indent=2) if options["json"] else render_report(report))
        try:
            record_verification(report, source="command")
        except OperationalError as exc:  # the checks ran; only storing the result had to wait too long
            if not is_lock_timeout(exc):
                raise
            self.stderr.write(f"Not recorded: {lock_timeout_message()}")
        if not report.ok:
            raise CommandError(f"Verification failed: {len(report.problems)} problems.", returncode=1)


def render_report(report) -> str:
    classes = [c.value for c in PRIORITY]
    lines = [
        f"{report.total_leads} leads, {report.open_leads} open, {report.unassigned} open unassigned, "
        f"{report.on_inactive} open with inactive agents, spread {report.spread}.",
        "",
        f"{'agent':<40} {'active':>6} {'capacity':>8} {'load':>7} " + " ".join(f"{c:>7}" for c in classes),
    ]
    for row in report.agents:
        capacity = "-" if row.capacity is None else row.capacity
        lines.append(
            f"{row.email:<40} {'yes' if row.is_active else 'no':>6} {capacity:>8} {row.open_leads:>7} "
            + " ".join(f"{row.by_class[c]:>7}" for c in classes)
        )
    if report.unassigned:
        lines += ["", f"Unassigned open leads: {report.unassigned} (first {len(report.first_unassigned)}):"]
        lines += [
            f"  #{lead['id']} {lead['name']} <{lead['email']}> ({lead['lead_class']})"
            for lead in report.first_unassigned
        ]
    if report.unassigned_closed:
        lines += ["", f"Closed leads without an agent (not a failure): {report.unassigned_closed}."]
    if report.pools:
        lines += ["", "Pools (balance load / share):"]
        for label, pool in report.pools.items():
            rows = pool["agents"]
            eligible = sum(1 for row in rows.values() if row["eligible"])
            skipped = ", ".join(f"{email} {row['skipped']}" for email, row in rows.items() if row["skipped"])
            lines.append(
                f"  {label}: {'ok' if pool['ok'] else 'UNBALANCED'}, spread {pool['spread']}, "
                f"{len(rows)} members, {eligible} eligible" + (f" (skipped: {skipped})" if skipped else "")
            )
    if report.misrouted:
        lines += [
            "",
            f"Open leads outside the team their rule names: {report.misrouted} ({report.misrouted_new} new; "
            "worked ones are not a failure).",
        ]
    if report.received_while_away:
        who = ", ".join(f"{email} {n}" for email, n in report.away_by_agent.items())
        lines += ["", f"Received while absent or off hours: {report.received_while_away} ({who})."]
    if report.over_daily_cap:
        lines += ["", f"Above their daily cap on some day: {', '.join(report.over_daily_cap)}."]
    lines += [""] + ([f"PROBLEM: {p}" for p in report.problems] or ["OK: every check holds."])
    return "\n".join(lines)
