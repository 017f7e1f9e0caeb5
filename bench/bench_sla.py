#!/usr/bin/env python
"""Benchmark SLA enforcement on SQLite: `enforce_sla` over N leads of which about 1% are due for some step.

    python bench/bench_sla.py --sizes 100000,1000000 [--profile]

Data (raw SQL, a SQLite file of its own: bench/out/bench_sla.sqlite3): 100 agents in two teams, EMEA (0-49,
Europe/Paris, every fifth Europe/London) and Americas (50-99, America/New_York, every fifth America/Los_Angeles);
working hours Mon-Fri 09:00-18:00 (EMEA), 08:00-17:00 (New York), 07:00-16:00 (Los Angeles), a split day
08:30-12:00, 13:00-17:30 for every tenth, none (any time) for every tenth; a holiday for EMEA the day before
--as-of; one manager per team. Policies: EMEA's own (remind 3 h, escalate 4 h, reassign 6 h, at most 2
reassignments, recycle after 30 days), the default one for Americas (remind 4 h, escalate 8 h, reassign 16 h, 2,
30 days). Leads (one INSERT ... SELECT over a recursive CTE): status by i % 10 (20% closed, 30% contacted or
qualified, 50% new), every open one assigned, agent by (i / 1000 + 13 i) % 100, with one LeadAssignment audit row
each recording its agent's team as the pool (one INSERT ... SELECT). The assignment moments come from each agent's
bounds (agents.availability.working_time_before at --as-of, in its hours, zone and holidays), by i % 1000:
5-8 due for the reminder only, 9, 15, 16 for the escalation (and the reminder), 17-19 for reassignment (19 already
reassigned twice: escalated instead), 2 and 12 (contacted) without activity for 40 days (recycled); every other
open lead assigned after its agent's reminder bound. So 1% of the leads are due and 0.2% stale.

For each size it times, in the same run: a raw baseline (one SELECT of the new leads assigned at or before the
earliest reminder bound of any agent, all of them due, one executemany INSERT of as many notification rows, rolled
back), then
`enforce_sla --as-of ... --seed 1 --json` (the whole command through call_command; its counts are checked against
the buckets above), then the same command again at the same --as-of, which must change nothing.
"""

import argparse
import cProfile
import datetime
import io
import json
import math
import os
import pstats
import sys
from io import StringIO

import numpy as np
from common import OUT, markdown_table, peak_rss_mb, setup_django, timed
from run import machine

N_AGENTS = 100
AS_OF = datetime.datetime(2026, 11, 24, 15, 30, tzinfo=datetime.UTC)  # a Tuesday: 16:30 Paris, 10:30 New York
HOLIDAY = datetime.date(2026, 11, 23)  # EMEA's: the Monday before
DB = OUT / "bench_sla.sqlite3"
TEAM_POLICY = {"remind": 3, "first_touch": 4, "escalate": 4, "reassign": 6}
DEFAULT_POLICY = {"remind": 4, "first_touch": 8, "escalate": 8, "reassign": 16}
MAX_REASSIGNMENTS, RECYCLE_DAYS = 2, 30
BUCKETS = {  # i % 1000 -> what the lead is due for
    "remind": (5, 6, 7, 8),
    "escalate": (9, 15, 16),
    "reassign": (17, 18, 19),
    "maxed": (19,),  # reassigned twice already: escalated instead
    "stale": (2, 12),
}


def agent_profile(a: int) -> tuple[str, str, str]:
    """(team, time zone, working hours) of agent index a."""
    if a < 50:
        team, zone, hours = "EMEA", "Europe/London" if a % 5 == 0 else "Europe/Paris", "Mon-Fri 09:00-18:00"
    else:
        team = "Americas"
        zone, hours = (
            ("America/Los_Angeles", "Mon-Fri 07:00-16:00")
            if a % 5 == 0
            else ("America/New_York", "Mon-Fri 08:00-17:00")
        )
    if a % 10 == 4:
        hours = "Mon-Fri 08:30-12:00, 13:00-17:30"
    elif a % 10 == 9:
        hours = ""
    return team, zone, hours


def bounds(a: int) -> tuple[int, int, int]:
    """Agent a's latest assignment moments (epoch seconds, floored) from which the reminder, the escalation and the
    reassignment are due at AS_OF."""
    from agents.availability import parse_working_hours, working_time_before

    team, zone, hours = agent_profile(a)
    policy = TEAM_POLICY if team == "EMEA" else DEFAULT_POLICY
    holidays = frozenset({HOLIDAY}) if team == "EMEA" else frozenset()
    return tuple(
        math.floor(
            working_time_before(
                AS_OF, policy[step], hours_spec=parse_working_hours(hours), tz=zone, holidays=holidays
            ).timestamp()
        )
        for step in ("remind", "escalate", "reassign")
    )


def load_data(n_leads: int) -> None:
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.db import connection

    from agents.models import Holiday, Team
    from leads.models import AssignmentRun, SlaPolicy

    with connection.cursor() as cursor:
        for table in (
            "leads_notification",
            "leads_leadassignment",
            "leads_assignmentrun",
            "leads_slapolicy",
            "leads_lead",
            "leads_agentloadcount",
            "agents_holiday",
            "agents_team_managers",
            "agents_agent_teams",
            "agents_team",
            "agents_agent",
            "auth_user",
        ):
            cursor.execute(f"DELETE FROM {table}")
        cursor.execute("DELETE FROM sqlite_sequence WHERE name IN ('leads_lead', 'agents_agent')")  # ids from 1
        cursor.executemany(
            "INSERT INTO agents_agent (name, email, is_active, capacity, time_zone, working_hours, created_at, "
            "updated_at) VALUES (%s, %s, 1, NULL, %s, %s, '2026-11-01 00:00:00', '2026-11-01 00:00:00')",
            [(f"Agent {a}", f"agent{a}@sales.example", *agent_profile(a)[1:]) for a in range(N_AGENTS)],
        )
    agents = list(agent_ids())
    users = get_user_model()
    teams = {}
    for name in ("EMEA", "Americas"):
        teams[name] = team = Team.objects.create(name=name)
        team.agents.set([agents[a] for a in range(N_AGENTS) if agent_profile(a)[0] == name])
        team.managers.set(
            [users.objects.create(username=f"manager-{name.lower()}", email=f"{name.lower()}@lead.example")]
        )
    Holiday.objects.create(date=HOLIDAY, name="Bench holiday", team=teams["EMEA"])
    hours = {k: Decimal(v) for k, v in TEAM_POLICY.items()}
    default = {k: Decimal(v) for k, v in DEFAULT_POLICY.items()}
    for team, values in ((teams["EMEA"], hours), (None, default)):
        SlaPolicy.objects.create(
            team=team,
            remind_at_hours=values["remind"],
            first_touch_hours=values["first_touch"],
            escalate_after_hours=values["escalate"],
            reassign_after_hours=values["reassign"],
            max_reassignments=MAX_REASSIGNMENTS,
            recycle_stale_after_days=RECYCLE_DAYS,
        )
    run = AssignmentRun.objects.create(source="command", action="assign", as_of=AS_OF - datetime.timedelta(days=60))
    now = math.floor(AS_OF.timestamp())
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_sla_agent")
        cursor.execute(
            "CREATE TEMP TABLE bench_sla_agent (idx INTEGER PRIMARY KEY, agent_id INTEGER, pool TEXT, "
            "remind_s INTEGER, escalate_s INTEGER, reassign_s INTEGER)"
        )
        cursor.executemany(
            "INSERT INTO bench_sla_agent VALUES (%s, %s, %s, %s, %s, %s)",
            [(a, agents[a], agent_profile(a)[0], *bounds(a)) for a in range(N_AGENTS)],
        )
        b = "(i %% 1000)"
        spread = "((i * 7919) %% ({hi} - {lo})) + {lo} + 1"  # in ({lo}, {hi}]
        moment = (
            f"CASE WHEN i %% 10 IN (0, 1) THEN {now} - 5184000 - (i %% 86400) "
            f"WHEN {b} IN {sql_in(BUCKETS['stale'])} THEN {now} - 3456000 - (i %% 86400) "
            f"WHEN {b} IN {sql_in(BUCKETS['remind'])} THEN {spread.format(lo='escalate_s', hi='remind_s')} "
            f"WHEN {b} IN {sql_in(BUCKETS['escalate'])} THEN {spread.format(lo='reassign_s', hi='escalate_s')} "
            f"WHEN {b} IN {sql_in(BUCKETS['reassign'])} THEN {spread.format(lo=f'({now} - 2505600)', hi='reassign_s')} "
            f"ELSE {spread.format(lo='remind_s', hi=f'({now} - 1)')} END"
        )
        cursor.execute(
            "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < %s) "
            "INSERT INTO leads_lead (name, name_key, email, phone, company, source, country, status, created_at, "
            "assigned_agent_id, assigned_at, added_at, updated_at) "
            "SELECT 'Lead ' || i, 'lead ' || i, 'lead' || i || '@example.org', '', 'Acme', 'Web', '', "
            "CASE i %% 10 WHEN 0 THEN 'converted' WHEN 1 THEN 'lost' WHEN 2 THEN 'contacted' WHEN 3 THEN 'contacted' "
            "WHEN 4 THEN 'qualified' ELSE 'new' END, "
            "datetime(t - 3600, 'unixepoch'), agent_id, datetime(t, 'unixepoch'), datetime(t, 'unixepoch'), "
            "datetime(t, 'unixepoch') "
            f"FROM (SELECT i, agent_id, {moment} AS t FROM seq "
            "JOIN bench_sla_agent ON idx = (i / 1000 + i * 13) %% 100)",
            [n_leads],
        )
        # The pool a run placed each lead in (Lead.assigned_team: the policy that applies to it).
        cursor.execute(
            "UPDATE leads_lead SET assigned_team_id = (SELECT t.id FROM bench_sla_agent a "
            "JOIN agents_team t ON t.name = a.pool WHERE a.agent_id = leads_lead.assigned_agent_id)"
        )
        cursor.execute(
            "INSERT INTO leads_leadassignment (lead_id, from_agent_id, to_agent_id, run_id, reason, changed_at, pool, "
            "rule) SELECT l.id, NULL, l.assigned_agent_id, %s, 'assigned', l.assigned_at, a.pool, '' "
            "FROM leads_lead l JOIN bench_sla_agent a ON a.agent_id = l.assigned_agent_id",
            [run.pk],
        )
        # Twice reassigned by the SLA before, from and to two other agents of the team (held_by grows).
        for days, k in ((2, 1), (1, 2)):
            cursor.execute(
                "INSERT INTO leads_leadassignment (lead_id, from_agent_id, to_agent_id, run_id, reason, changed_at, "
                "pool, rule) SELECT l.id, o.agent_id, l.assigned_agent_id, %s, 'sla-reassigned', "
                "datetime(l.assigned_at, %s), a.pool, '' FROM leads_lead l "
                "JOIN bench_sla_agent a ON a.agent_id = l.assigned_agent_id "
                "JOIN bench_sla_agent o ON o.idx = (a.idx / 50) * 50 + (a.idx + %s) %% 50 "
                f"WHERE l.id %% 1000 IN {sql_in(BUCKETS['maxed'])}",
                [run.pk, f"-{days} days", k],
            )
        cursor.execute("ANALYZE")


def sql_in(values) -> str:
    return "(" + ", ".join(str(v) for v in values) + ")"


def agent_ids():
    from agents.models import Agent

    return Agent.objects.order_by("id").values_list("id", flat=True)


def expected(n: int) -> dict:
    b = np.arange(1, n + 1) % 1000
    count = {name: int(np.isin(b, values).sum()) for name, values in BUCKETS.items()}
    return {
        "reminded": count["remind"] + count["escalate"],
        "escalated": count["escalate"] + count["maxed"],
        "reassigned": count["reassign"] - count["maxed"],
        "recycled": count["stale"],
    }


def baseline() -> int:
    """One SELECT of the new leads assigned at or before the earliest reminder bound of any agent (so all of them are
    due: a subset of the due leads), one bulk INSERT of a notification row each; rolled back. Returns the rows."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("SELECT min(remind_s) FROM bench_sla_agent")
        bound = datetime.datetime.fromtimestamp(cursor.fetchone()[0], datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")
        cursor.execute("SELECT max(id) FROM leads_assignmentrun")
        run_id = cursor.fetchone()[0]
    created = AS_OF.strftime("%Y-%m-%d %H:%M:%S")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.id, l.assigned_agent_id, a.email, l.assigned_at FROM leads_lead l "
            "JOIN agents_agent a ON a.id = l.assigned_agent_id WHERE l.status = 'new' AND l.assigned_at <= %s",
            [bound],
        )
        rows = cursor.fetchall()
        cursor.executemany(
            'INSERT INTO leads_notification (agent_id, "to", kind, run_id, lead_id, leads_count, status, attempts, '
            "created_at, claimed_by, subject, last_error, sla_clock) "
            "VALUES (%s, %s, 'sla-reminder', %s, %s, 1, 'pending', 0, %s, '', '', '', %s)",
            [(agent_id, email, run_id, lead_id, created, clock) for lead_id, agent_id, email, clock in rows],
        )
        transaction.set_rollback(True)
    return len(rows)


def command(*args) -> str:
    from django.core.management import call_command

    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated lead counts")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile a dry run before the first enforce_sla run (to stderr)"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    setup_django(DB)
    load_at_start = os.getloadavg()
    started = datetime.datetime.now(datetime.UTC)
    sla = ("enforce_sla", "--as-of", AS_OF.isoformat(), "--seed", "1", "--json")

    rows = []
    for n in sizes:
        print(f"{n} leads:", file=sys.stderr)
        with timed("load data"):
            load_data(n)
        with timed("baseline: SELECT + bulk INSERT") as base:
            base_rows = baseline()
        if args.profile:  # the same work as the first run, rolled back (--dry-run), so the timed run below is not
            profiler = cProfile.Profile()  # slowed by the profiler; it runs on a warmer cache, though
            with timed("enforce_sla --dry-run under cProfile"):
                profiler.runcall(command, *sla, "--dry-run")
            text = io.StringIO()
            stats = pstats.Stats(profiler, stream=text)
            stats.sort_stats("cumulative").print_stats(45)
            stats.sort_stats("tottime").print_stats(20)
            print(text.getvalue(), file=sys.stderr)
        with timed("enforce_sla") as first:
            out = command(*sla)
        result = json.loads(out)
        print(out, file=sys.stderr)
        want = expected(n)
        got = {key: result[key] for key in want}
        assert got == want, (got, want)
        with timed("enforce_sla again (idempotent)") as second:
            again = json.loads(command(*sla))
        assert again["run"] is None and not any(again[key] for key in want), again
        acted = ", ".join(f"{result[k]:,} {k}" for k in want)
        rows += [
            [f"{n:,}", "raw SELECT of new leads by one assigned_at bound (the earliest reminder bound) + bulk INSERT "
             "of a notification each (baseline, rolled back)", f"{base_rows:,} leads", base.seconds],
            [f"{n:,}", "`enforce_sla --seed 1 --json`", acted, first.seconds],
            [f"{n:,}", "`enforce_sla` again at the same --as-of (idempotent)", "nothing", second.seconds],
        ]  # fmt: skip
    print("## SLA enforcement (bench/bench_sla.py)\n")
    print(
        f"Run on {started.date().isoformat()} {started:%H:%M} UTC (`python bench/bench_sla.py --sizes "
        f"{','.join(map(str, sizes))}`). Machine: {machine()}; load average "
        f"{', '.join(f'{x:.2f}' for x in load_at_start)} when the run started (shared machine: the numbers are "
        "noisy).\n"
    )
    print(
        f"SQLite file, {N_AGENTS} agents in two teams (EMEA with its own policy: remind 3 h, escalate 4 h, reassign "
        "6 h; Americas with the default one: 4 h, 8 h, 16 h; both at most 2 reassignments and recycling after 30 "
        "days), working hours in four time zones (a tenth of the agents without hours), a holiday for EMEA the day "
        f"before --as-of {AS_OF.isoformat()}. 80% of the leads open and assigned, each with its audit row; 1% of the "
        "leads due for some step at --as-of (0.4% the reminder, 0.3% the escalation, 0.3% reassignment, a third of "
        "them already reassigned twice) and 0.2% without activity for 40 days; the assignment moments are computed "
        "from each agent's own bounds, so the expected counts are exact and checked. Timings are of the whole "
        "command through call_command.\n"
    )
    print(markdown_table(["leads", "operation", "rows", "seconds"], rows))
    print(f"\nPeak memory of the benchmark process: {peak_rss_mb():.0f} MB.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
