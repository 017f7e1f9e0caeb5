#!/usr/bin/env python
"""Benchmark routed assignment on SQLite: 100 agents, N leads (80% open), against today's single-pool run.

    python bench/bench_routing.py --sizes 100000,1000000

Leads are inserted with one INSERT ... SELECT over a recursive CTE (as bench_assign.py does), with a country
(40% France/Germany/Spain, 35% United States/Canada, 25% elsewhere or empty) and a source (10% Partner, the
rest Referral, Event, Ads, Web). For each size it times, on the same leads:
- the baseline: `assign_leads --seed 42` with no rule, no team and equal weights (the single-pool path);
- the routed run: the assignments undone by raw SQL (the load counters follow by their triggers), then three
  teams (EMEA, Americas, Partners sharing 10 agents with EMEA), three rules (source Partner -> Partners, then
  country -> EMEA or Americas; the rest to every agent), 10 agents at weight 0.5, 5 absent, 10 with a daily cap
  far above what they receive, and `assign_leads --seed 42` again (every lead read with its routing columns and
  class, matched, water-filled pool by pool);
- `verify_assignments` after the routed run (pools, misrouted, received while away, daily caps), which must be ok.
"""

import datetime
import json
import os
import sys
from io import StringIO

from common import markdown_table, parse_sizes, peak_rss_mb, setup_django, timed
from run import machine

N_AGENTS = 100
AS_OF = "2026-11-24T09:00:00+00:00"
# Agents by index (0-99, in id order): EMEA 0-39, Americas 40-79, Partners 30-39 (also EMEA) and 80-99.
TEAMS = {
    "EMEA": range(40),
    "Americas": range(40, 80),
    "Partners": [*range(30, 40), *range(80, 100)],
}
RULES = [  # position, name, team, source, country
    (1, "Partner referrals", "Partners", "Partner", ""),
    (2, "Europe", "EMEA", "", "France|Germany|Spain"),
    (3, "North America", "Americas", "", "United States|Canada"),
]
HALF_WEIGHT = [i for i in range(N_AGENTS) if i % 10 == 3]  # 10 agents at weight 0.5
ABSENT = [5, 25, 45, 65, 85]
DAILY_CAPPED = [i for i in range(N_AGENTS) if i % 10 == 7]  # 10 agents with a cap that does not bind
DAILY_CAP = 1_000_000


def load_data(n_leads: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in (
            "leads_notification",
            "leads_leadassignment",
            "leads_assignmentrun",
            "leads_verificationrun",
            "leads_routingrule",
            "leads_lead",
            "leads_agentloadcount",  # emptied by the triggers as the leads go, but its rows name the agents
            "agents_absence",
            "agents_agent_teams",
            "agents_team",
            "agents_agent",
        ):
            cursor.execute(f"DELETE FROM {table}")
        cursor.executemany(
            "INSERT INTO agents_agent (name, email, is_active, capacity, created_at, updated_at) "
            "VALUES (%s, %s, 1, NULL, '2026-11-01 00:00:00', '2026-11-01 00:00:00')",
            [(f"Agent {i}", f"agent{i}@sales.example") for i in range(N_AGENTS)],
        )
        # The status is by i % 10, the country and source by i / 10 (independent of it): country by
        # (i / 10 * 37) % 100 (0-39 Europe, 40-74 North America, 75-99 elsewhere or empty), source by
        # (i / 10 * 7 + i / 1000) % 10 (0 Partner, then Referral, Event, Ads, Web).
        cursor.execute(
            "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < %s) "
            "INSERT INTO leads_lead (name, name_key, email, phone, company, source, country, status, created_at, "
            "assigned_agent_id, assigned_at, added_at, updated_at) "
            "SELECT 'Lead ' || i, 'lead ' || i, 'lead' || i || '@example.org', '', 'Acme', "
            "CASE (i / 10 * 7 + i / 1000) %% 10 WHEN 0 THEN 'Partner' WHEN 1 THEN 'Referral' WHEN 2 THEN 'Referral' "
            "WHEN 3 THEN 'Event' WHEN 4 THEN 'Ads' ELSE 'Web' END, "
            "CASE WHEN (i / 10 * 37) %% 100 < 15 THEN 'France' WHEN (i / 10 * 37) %% 100 < 30 THEN 'Germany' "
            "WHEN (i / 10 * 37) %% 100 < 40 THEN 'Spain' WHEN (i / 10 * 37) %% 100 < 65 THEN 'United States' "
            "WHEN (i / 10 * 37) %% 100 < 75 THEN 'Canada' WHEN (i / 10 * 37) %% 100 < 80 THEN 'United Kingdom' "
            "WHEN (i / 10 * 37) %% 100 < 85 THEN 'Brazil' WHEN (i / 10 * 37) %% 100 < 90 THEN 'India' "
            "WHEN (i / 10 * 37) %% 100 < 95 THEN 'Japan' ELSE '' END, "
            "CASE i %% 10 WHEN 0 THEN 'converted' WHEN 1 THEN 'lost' WHEN 2 THEN 'contacted' WHEN 3 THEN 'contacted' "
            "WHEN 4 THEN 'qualified' ELSE 'new' END, "
            "strftime('%%Y-%%m-%%d %%H:%%M:%%S', '2026-11-24', '-' || (i * 7 %% 7776000) || ' seconds'), "
            "NULL, NULL, '2026-11-24 00:00:00', '2026-11-24 00:00:00' FROM seq",
            [n_leads],
        )


def undo_assignments() -> None:
    """Every lead back without an agent and no audit trail (the triggers keep the load counters right)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE leads_lead SET assigned_agent_id = NULL, assigned_at = NULL")
        for table in ("leads_notification", "leads_leadassignment", "leads_assignmentrun"):
            cursor.execute(f"DELETE FROM {table}")


def configure_routing() -> None:
    """The teams, rules, weights, absences and daily caps of the routed run (a few ORM writes)."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from agents.models import Absence, Agent, Team
    from leads.models import RoutingRule

    agents = list(Agent.objects.order_by("id").values_list("id", flat=True))
    teams = {name: Team.objects.create(name=name) for name in TEAMS}
    for name, members in TEAMS.items():
        teams[name].agents.set([agents[i] for i in members])
    RoutingRule.objects.bulk_create(
        RoutingRule(position=position, name=name, team=teams[team], source=source, country=country)
        for position, name, team, source, country in RULES
    )
    Agent.objects.filter(id__in=[agents[i] for i in HALF_WEIGHT]).update(weight=Decimal("0.5"))
    Agent.objects.filter(id__in=[agents[i] for i in DAILY_CAPPED]).update(daily_cap=DAILY_CAP)
    Absence.objects.bulk_create(
        Absence(
            agent_id=agents[i],
            starts_at=datetime(2026, 11, 20, tzinfo=UTC),
            ends_at=datetime(2026, 11, 30, tzinfo=UTC),
            reason="holiday",
        )
        for i in ABSENT
    )


def command(*args) -> tuple[int, str]:
    from django.core.management import call_command
    from django.core.management.base import CommandError

    out = StringIO()
    try:
        call_command(*args, stdout=out, stderr=StringIO())
    except CommandError as exc:
        return exc.returncode, out.getvalue()
    return 0, out.getvalue()


def main() -> int:
    sizes = parse_sizes()
    setup_django()
    load_at_start = os.getloadavg()[0]

    rows = []
    for n in sizes:
        print(f"{n} leads:", file=sys.stderr)
        with timed("load data"):
            load_data(n)
        with timed("assign_leads (single pool)") as baseline:
            code, out = command("assign_leads", "--seed", "42", "--json", "--as-of", AS_OF)
        assert code == 0, out
        assigned = json.loads(out)["assigned"]
        undo_assignments()
        configure_routing()
        with timed("assign_leads (routed)") as routed:
            code, out = command("assign_leads", "--seed", "42", "--json", "--as-of", AS_OF)
        assert code == 0, out
        result = json.loads(out)
        assert result["assigned"] == assigned, (result["assigned"], assigned)
        with timed("verify_assignments") as verify:
            code, out = command("verify_assignments", "--json", "--as-of", AS_OF)
        report = json.loads(out)
        if code != 0:
            print("verify_assignments found problems:", *report["problems"], sep="\n  ", file=sys.stderr)
            return 1
        pools = ", ".join(f"{label} {pool['placed']:,}" for label, pool in sorted(last_run_pools().items()))
        ratio = routed.seconds / baseline.seconds
        print(f"  routed/baseline: {ratio:.2f}x ({pools})", file=sys.stderr)
        rows += [
            [f"{n:,}", "`assign_leads --seed 42`, no rule, equal weights (baseline)", f"{assigned:,} leads",
             baseline.seconds, ""],
            [f"{n:,}", "`assign_leads --seed 42`, 3 teams, 3 rules, weights, absences, daily caps",
             f"{result['assigned']:,} leads", routed.seconds, f"{ratio:.2f}x"],
            [f"{n:,}", "`verify_assignments` after the routed run", "ok", verify.seconds, ""],
        ]  # fmt: skip
    print("## Routing (bench/bench_routing.py)\n")
    print(
        f"Measured on {datetime.datetime.now(datetime.UTC).date().isoformat()} (`python bench/bench_routing.py`). "
        f"Machine: {machine()}; load average {load_at_start:.1f} when the run started.\n"
    )
    print(
        f"SQLite file, {N_AGENTS} agents, 80% of the leads open; countries 40% France/Germany/Spain, 35% United "
        "States/Canada, 25% elsewhere or empty; 10% of the leads from source Partner. The baseline is today's "
        "single-pool run (no rule, no team, equal weights). The routed run, on the same leads after the baseline's "
        "assignments were undone: teams EMEA (40 agents), Americas (40) and Partners (20 of its own and 10 shared "
        "with EMEA); rules Partner source -> Partners, France|Germany|Spain -> EMEA, United States|Canada -> "
        "Americas, the rest to every agent; 10 agents at weight 0.5, 5 absent, 10 with a daily cap that does not "
        "bind. `verify_assignments` checked the routed run ok. Timings include the command's own output. The "
        "machine is shared with other jobs, so the numbers are noisy.\n"
    )
    print(markdown_table(["leads", "operation", "rows", "seconds", "routed / baseline"], rows))
    print(f"\nPeak memory of the benchmark process: {peak_rss_mb():.0f} MB.")
    return 0


def last_run_pools() -> dict:
    """The pools the last run recorded (AssignmentRun.pools), by label."""
    from leads.models import AssignmentRun

    return AssignmentRun.objects.order_by("-id").values_list("pools", flat=True).first()


if __name__ == "__main__":
    sys.exit(main())
