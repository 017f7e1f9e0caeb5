#!/usr/bin/env python
"""Benchmark assignment and verification on SQLite: 100 agents, N leads (80% open).

    python bench/bench_assign.py --sizes 100000,1000000

Leads are inserted with one INSERT ... SELECT over a recursive CTE (not the import command, which has its own
benchmark). For each size it times, on the same data:
- the raw baseline: ONE UPDATE statement giving every open lead an agent round-robin (no plan, no audit);
- `assign_leads --seed 42` on the same unassigned leads (plan, temporary mapping table, one UPDATE,
  one INSERT ... SELECT of the audit rows, the run record);
- `assign_leads --rebalance` after deactivating 10 agents (their open leads are taken back and spread);
- `verify_assignments` (the aggregates and the report).
"""

import sys
from io import StringIO

from common import markdown_table, parse_sizes, peak_rss_mb, setup_django, timed

N_AGENTS = 100
DEACTIVATED = 10


def load_data(n_leads: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in (
            "leads_notification",
            "leads_leadassignment",
            "leads_assignmentrun",
            "leads_verificationrun",
            "leads_lead",
            "leads_agentloadcount",  # emptied by the triggers as the leads go, but its rows name the agents
            "agents_agent",
        ):
            cursor.execute(f"DELETE FROM {table}")
        cursor.executemany(
            "INSERT INTO agents_agent (name, email, is_active, capacity, created_at, updated_at) "
            "VALUES (%s, %s, 1, NULL, '2026-11-01 00:00:00', '2026-11-01 00:00:00')",
            [(f"Agent {i}", f"agent{i}@sales.example") for i in range(N_AGENTS)],
        )
        cursor.execute(
            "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < %s) "
            "INSERT INTO leads_lead (name, name_key, email, phone, company, source, status, created_at, "
            "assigned_agent_id, assigned_at, added_at, updated_at) "
            "SELECT 'Lead ' || i, 'lead ' || i, 'lead' || i || '@example.org', '', 'Acme', 'Web', "
            "CASE i %% 10 WHEN 0 THEN 'converted' WHEN 1 THEN 'lost' WHEN 2 THEN 'contacted' WHEN 3 THEN 'contacted' "
            "WHEN 4 THEN 'qualified' ELSE 'new' END, "
            "strftime('%%Y-%%m-%%d %%H:%%M:%%S', '2026-11-24', '-' || (i * 7 %% 7776000) || ' seconds'), "
            "NULL, NULL, '2026-11-24 00:00:00', '2026-11-24 00:00:00' FROM seq",
            [n_leads],
        )


def unassign_all() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE leads_lead SET assigned_agent_id = NULL, assigned_at = NULL")
        cursor.execute("DELETE FROM leads_leadassignment")


def raw_update() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE leads_lead SET assigned_agent_id = (SELECT MIN(id) FROM agents_agent) + id %% %s, "
            "assigned_at = '2026-11-24 09:00:00' "
            "WHERE status IN ('new', 'contacted', 'qualified') AND assigned_agent_id IS NULL",
            [N_AGENTS],
        )
        return cursor.rowcount


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
    import json

    from agents.models import Agent

    rows = []
    for n in sizes:
        print(f"{n} leads:", file=sys.stderr)
        with timed("load data"):
            load_data(n)
        with timed("raw single UPDATE") as raw:
            updated = raw_update()
        unassign_all()
        with timed("assign_leads") as assign:
            code, out = command("assign_leads", "--seed", "42", "--json", "--as-of", "2026-11-24T09:00:00+00:00")
        assigned = json.loads(out)["assigned"]
        assert code == 0 and assigned == updated, (code, assigned, updated)
        Agent.objects.filter(pk__in=Agent.objects.order_by("id").values("pk")[:DEACTIVATED]).update(is_active=False)
        with timed("assign_leads --rebalance") as rebalance:
            code, out = command(
                "assign_leads", "--rebalance", "--seed", "7", "--json", "--as-of", "2026-11-24T09:00:00+00:00"
            )
        moved = json.loads(out)["moved"]
        assert code == 0, out
        with timed("verify_assignments") as verify:
            code, out = command("verify_assignments", "--json", "--as-of", "2026-11-24T09:00:00+00:00")
        assert code == 0, out
        rows += [
            [f"{n:,}", "raw single-statement UPDATE (baseline)", f"{updated:,} leads", raw.seconds],
            [f"{n:,}", "`assign_leads --seed 42`", f"{assigned:,} leads", assign.seconds],
            [
                f"{n:,}",
                f"`assign_leads --rebalance` ({DEACTIVATED} agents deactivated)",
                f"{moved:,} moved",
                rebalance.seconds,
            ],
            [f"{n:,}", "`verify_assignments`", "ok", verify.seconds],
        ]
    print("## Assignment and verification (bench/bench_assign.py)\n")
    print(
        f"SQLite file, {N_AGENTS} agents without capacity, 80% of the leads open. `assign_leads` plans in memory, "
        "writes the (lead, agent) mapping to a temporary table, then runs one UPDATE ... FROM and one "
        "INSERT ... SELECT of the audit rows; the baseline is one UPDATE giving the same leads an agent "
        "round-robin, with no plan and no audit trail. Timings include the command's own output. The machine is "
        "shared with other jobs, so the numbers are noisy.\n"
    )
    print(markdown_table(["leads", "operation", "rows", "seconds"], rows))
    print(f"\nPeak memory of the benchmark process: {peak_rss_mb():.0f} MB.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
