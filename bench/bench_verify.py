#!/usr/bin/env python
"""verify_assignments and classify_leads as whole commands on SQLite: a new process each, Django's start-up included.

    python bench/bench_verify.py --sizes 100000,1000000

The leads are built as bench/bench_assign.py builds them (100 agents, 80% open) and given an agent by
`assign_leads --seed 42`; then as bench/bench_routing.py builds them (with countries and sources), assigned, the
assignments undone, its teams, rules, weights, absences and daily caps set up and the leads assigned again (the
routed run). Each command is started as
`python manage.py ...` (wall time: start-up, queries, output). Beside them, in the same run:
- the start-up alone, `python manage.py check` (what each command does before its own work);
- the raw baseline: the GROUP BY queries the commands need, timed with the sqlite3 module on the same file
  (verify: the leads by agent and status with their age bands; the routed verify adds the distinct held
  (agent, status, source, country); classify: the leads by agent and CASE class).
Each figure is the best and the median of RUNS runs, after one warm-up.
"""

import os
import sqlite3
import statistics
import subprocess
import sys
import time

from common import OUT, ROOT, markdown_table, parse_sizes, peak_rss_mb, setup_django, timed

RUNS = 5
AS_OF = "2026-11-24T09:00:00+00:00"
DB = OUT / "bench_verify.sqlite3"
FRESH, STALE = "2026-11-17 09:00:00", "2026-10-25 09:00:00"  # AS_OF less LEADS_FRESH_DAYS, LEADS_STALE_DAYS
BANDS = f"COUNT(*), SUM(created_at > '{FRESH}'), SUM(created_at > '{STALE}')"
RAW_VERIFY = f"SELECT assigned_agent_id, status, {BANDS} FROM leads_lead GROUP BY assigned_agent_id, status"
RAW_ROUTED = (
    "SELECT DISTINCT assigned_agent_id, status, source, country FROM leads_lead "
    "WHERE status IN ('contacted', 'new', 'qualified') AND assigned_agent_id IS NOT NULL"
)
RAW_CLASSIFY = (
    f"SELECT assigned_agent_id, CASE WHEN status IN ('converted', 'lost') THEN 'closed' "
    f"WHEN created_at > '{FRESH}' THEN 'fresh' WHEN created_at <= '{STALE}' THEN 'stale' "
    "WHEN status = 'new' THEN 'urgent' ELSE 'active' END AS c, COUNT(*) FROM leads_lead GROUP BY assigned_agent_id, c"
)


def seconds(fn) -> tuple[float, float]:
    """(best, median) of RUNS runs after a warm-up."""
    fn()
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def manage(*args, ok=(0,)):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{DB}", "DEBUG": "1"}

    def run():
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        assert result.returncode in ok, (args, result.returncode, result.stderr[-2000:])

    return run


def raw(*queries):
    def run():
        connection = sqlite3.connect(DB)
        try:
            for sql in queries:
                connection.execute(sql).fetchall()
        finally:
            connection.close()

    return run


def measure(n: int, label: str, rows: list, *, routed: bool) -> None:
    from django.db import connections

    connections.close_all()  # the commands run in their own processes
    cases = [("`manage.py check` (start-up alone)", manage("check"), "", None)]
    if routed:
        cases.append(
            (
                "`verify_assignments --json`, routed run",
                manage("verify_assignments", "--json", "--as-of", AS_OF),
                "raw GROUP BY agent, status + DISTINCT routed columns",
                raw(RAW_VERIFY, RAW_ROUTED),
            )
        )
    else:
        cases += [
            (
                "`verify_assignments --json`",
                manage("verify_assignments", "--json", "--as-of", AS_OF),
                "raw GROUP BY agent, status (age bands)",
                raw(RAW_VERIFY),
            ),
            (
                "`classify_leads --json`",
                manage("classify_leads", "--json", "--as-of", AS_OF),
                "raw GROUP BY agent, CASE class",
                raw(RAW_CLASSIFY),
            ),
        ]
    for operation, product, baseline_label, baseline in cases:
        print(f"  {n}: {label}: {operation}", file=sys.stderr)
        best, median = seconds(product)
        raw_best, raw_median = seconds(baseline) if baseline else ("", "")
        rows.append([f"{n:,}", label, operation, best, median, baseline_label, raw_best, raw_median])


def main() -> int:
    import bench_assign
    import bench_routing

    sizes = parse_sizes()
    load_at_start = os.getloadavg()[0]
    rows = []
    for n in sizes:
        setup_django(DB)
        with timed(f"load {n} leads and assign them"):
            bench_assign.load_data(n)
            code, out = bench_assign.command("assign_leads", "--seed", "42", "--json", "--as-of", AS_OF)
            assert code == 0, out
        measure(n, "single pool", rows, routed=False)
        setup_django(DB)
        with timed(f"load {n} leads with countries and sources, assign them, then the routed run"):
            bench_routing.load_data(n)
            code, out = bench_routing.command("assign_leads", "--seed", "42", "--json", "--as-of", AS_OF)
            assert code == 0, out
            bench_routing.undo_assignments()
            bench_routing.configure_routing()
            code, out = bench_routing.command("assign_leads", "--seed", "42", "--json", "--as-of", AS_OF)
            assert code == 0, out
        measure(n, "routed", rows, routed=True)
    for suffix in ("", "-wal", "-shm"):
        (DB.parent / f"{DB.name}{suffix}").unlink(missing_ok=True)
    print("## Verification and classification as whole commands (SQLite)\n")
    print(
        f"`bench/bench_verify.py`: leads built as bench_assign.py builds them (100 agents, 80% open) and assigned "
        "by `assign_leads --seed 42`; the routed rows on bench_routing.py's leads after its teams, rules, weights, "
        "absences and daily caps and a second assignment. Each command is a new `python manage.py` process, as of "
        f"{AS_OF}: wall time, Django's start-up (settings, apps, the admin's registrations, the system checks) "
        "included, "
        "which the first row measures alone. The raw baseline runs the GROUP BY queries the command needs with the "
        f"sqlite3 module on the same file. Best and median of {RUNS} runs after a warm-up, in seconds; load "
        f"average {load_at_start:.1f} when the run started (the machine is shared, so figures are noisy).\n"
    )
    headers = ["leads", "data", "command", "best", "median", "raw baseline", "best", "median"]
    print(markdown_table(headers, rows))
    print(f"\nPeak memory of the benchmark process: {peak_rss_mb():.0f} MB.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
