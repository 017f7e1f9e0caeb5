#!/usr/bin/env python
"""Benchmark: what the load-counter triggers (leads.load_counts) cost the bulk writes, and what they save a read.

    python bench/bench_load_counts.py --sizes 1000000 [--engines sqlite,postgres]

For each engine (SQLite file; PostgreSQL at BENCH_POSTGRES_URL, default
postgres://postgres@127.0.0.1:5432/crm_bench_counters, dropped and created again) and each size, with the
triggers installed and with them dropped, each in a process of its own: `import_agents`, `import_leads` of
bench/generate.py's file into the empty database (unassigned leads: the triggers' WHEN clauses leave them
out), the table's ANALYZE alone (which the import now runs after committing a large share of the table),
`assign_leads` (one UPDATE ... FROM giving ~800k leads an agent: a trigger call per row), then a re-import of
the same file with every lead's status changed (a trigger call per assigned lead). With the triggers: the
loads read by the aggregate (leads.loads.agent_loads) and from the counters (counted_loads), and whether
verify_assignments finds the counters exact.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import OUT, ensure_data, markdown_table  # noqa: E402

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/crm_bench_counters")
MODES = ("triggers", "no triggers")


def fresh_database(engine: str, n: int) -> str:
    if engine == "sqlite":
        path = OUT / f"counters-{n}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    parts = urlsplit(POSTGRES_URL)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        con.execute(f'CREATE DATABASE "{name}"')
    return POSTGRES_URL


def changed_statuses(csv_path: Path) -> Path:
    """The same file with every lead's status set to another one (contacted, qualified, lost in turn)."""
    import pandas as pd

    target = csv_path.with_name("leads-statuses.csv")
    if not target.exists():
        frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
        cycle = ["Contacted", "Qualified", "Lost"]
        frame["Lead Status"] = [cycle[i % 3] for i in range(len(frame))]
        frame.to_csv(target, index=False)
    return target


def one(engine: str, mode: str, n: int) -> dict:
    os.environ["DATABASE_URL"] = fresh_database(engine, n)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from core import clock, sql
    from leads import load_counts
    from leads.loads import agent_loads, counted_loads
    from leads.verification import verify_assignments

    data = ensure_data(n)
    again = changed_statuses(data / "leads.csv")
    took: dict[str, float | bool | str] = {}

    def timed(label, *args):
        start = time.perf_counter()
        with open(os.devnull, "w") as quiet:
            call_command(*args, stdout=quiet)
        took[label] = time.perf_counter() - start
        print(f"  {engine} {mode} {label}: {took[label]:.1f} s", file=sys.stderr)

    timed("migrate", "migrate", "--verbosity", "0")
    if mode == "no triggers":
        load_counts.drop_triggers()
    timed("import_agents", "import_agents", str(data / "agents.csv"), "--json")
    timed("import", "import_leads", str(data / "leads.csv"), "--json")
    start = time.perf_counter()
    with connection.cursor() as cursor:
        sql.dialect().analyze_table(cursor, "leads_lead")
    took["analyze"] = time.perf_counter() - start
    timed("assign", "assign_leads", "--seed", "42", "--json")
    timed("reimport", "import_leads", str(again), "--json")
    if mode == "triggers":
        for label, read in (("aggregate", lambda: agent_loads(everyone=True)), ("counted", counted_loads)):
            read()
            start = time.perf_counter()
            for _ in range(5):
                read()
            took[label] = (time.perf_counter() - start) / 5 * 1000
        took["counters_ok"] = verify_assignments(as_of=clock.now()).counters_ok
    took["vendor"] = connection.vendor
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000")
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # ENGINE:MODE:SIZE, the child process
    args = parser.parse_args()
    if args.one:
        engine, mode, size = args.one.split(":")
        print(json.dumps(one(engine, mode, int(size))))
        return 0
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_before = os.getloadavg()
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        for engine in args.engines.split(","):
            results = {}
            for mode in MODES:
                out = subprocess.run(
                    [sys.executable, __file__, "--one", f"{engine}:{mode}:{size}"],
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    text=True,
                    check=True,
                )
                results[mode] = json.loads(out.stdout.strip().splitlines()[-1])
            on, off = results["triggers"], results["no triggers"]
            for label, what in (
                ("import", "`import_leads` into the empty table (unassigned leads), ANALYZE after it included"),
                ("analyze", "ANALYZE of the leads table alone"),
                ("assign", "`assign_leads --seed 42` (UPDATE ... FROM of the open leads)"),
                ("reimport", "re-import, every lead's status changed"),
            ):
                rows.append(
                    [
                        f"{size:,}",
                        engine,
                        what,
                        f"{on[label]:.2f}",
                        f"{off[label]:.2f}",
                        f"{on[label] / off[label]:.2f}",
                    ]
                )
            rows.append(
                [
                    f"{size:,}",
                    engine,
                    f"every agent's load: aggregate {on['aggregate']:.0f} ms, counters {on['counted']:.1f} ms; "
                    f"verify_assignments counters_ok={on['counters_ok']}",
                    "",
                    "",
                    "",
                ]
            )
    load_after = os.getloadavg()
    print("## Load counters: what the triggers cost (bench/bench_load_counts.py)\n")
    print(
        f"Run on {started}; load average {', '.join(f'{x:.2f}' for x in load_before)} before, "
        f"{', '.join(f'{x:.2f}' for x in load_after)} after (the machine is shared: the numbers are noisy). "
        "Each column is a fresh database built in a process of its own: with the load-counter triggers "
        "(leads.load_counts) and with them dropped. Seconds of the whole command (Django start-up excluded).\n"
    )
    print(markdown_table(["leads", "engine", "step", "triggers s", "no triggers s", "ratio"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
