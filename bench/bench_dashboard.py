#!/usr/bin/env python
"""Benchmark the admin's Lead overview: the selector and the whole page, beside the raw SQL aggregates.

    python bench/bench_dashboard.py --sizes 100000,1000000

Fills a SQLite database per size with synthetic leads (100 agents, about 80% open, about 60% assigned)
straight through sqlite3, then times (best of 3) leads.dashboard.lead_overview(), a GET of the page as a
superuser through Django's test client, and the two GROUP BY statements written by hand and run with
sqlite3 on the same file: the floor for any dashboard that counts all leads.
"""

import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import OUT, markdown_table, parse_sizes, setup_django

AS_OF = datetime(2026, 11, 24, 12, 0)
N_AGENTS = 100
STATUSES = ["new", "new", "contacted", "contacted", "qualified", "new", "contacted", "qualified", "converted", "lost"]


def build(db_path, n: int) -> None:
    """Migrate an empty database and fill it with n leads, once per size (kept under bench/out/)."""
    import numpy as np

    con = sqlite3.connect(db_path)
    rng = np.random.default_rng(42)
    now = AS_OF.strftime("%Y-%m-%d %H:%M:%S")
    con.executemany(
        "INSERT INTO agents_agent (name, email, is_active, capacity, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (f"Agent {i:03d}", f"agent{i}@sales.test", i % 10 != 0, None if i % 3 else 20_000, now, now)
            for i in range(N_AGENTS)
        ],
    )
    agent_ids = [row[0] for row in con.execute("SELECT id FROM agents_agent ORDER BY id")]
    ages = rng.integers(0, 90 * 86400, n)
    statuses = rng.integers(0, len(STATUSES), n)
    agents = rng.integers(0, N_AGENTS, n)
    assigned = rng.random(n) < 0.6

    def rows():
        for i in range(n):
            created = (AS_OF - timedelta(seconds=int(ages[i]))).strftime("%Y-%m-%d %H:%M:%S")
            agent = agent_ids[agents[i]] if assigned[i] else None
            yield (
                f"Lead {i}",
                f"lead {i}",
                f"lead{i}@example.com",
                "",
                "",
                "",
                STATUSES[statuses[i]],
                created,
                agent,
                created if agent else None,
                now,
                now,
            )

    con.executemany(
        "INSERT INTO leads_lead (name, name_key, email, phone, company, source, status, created_at,"
        " assigned_agent_id, assigned_at, added_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows(),
    )
    con.commit()
    con.execute("ANALYZE")
    con.close()


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def raw_aggregates(db_path) -> None:
    fresh = (AS_OF - timedelta(days=7)).strftime("%Y-%m-%d %H:%M:%S")
    stale = (AS_OF - timedelta(days=30)).strftime("%Y-%m-%d %H:%M:%S")
    con = sqlite3.connect(db_path)
    con.execute(
        "SELECT CASE WHEN status IN ('converted', 'lost') THEN 'closed' WHEN created_at > ? THEN 'fresh'"
        " WHEN created_at <= ? THEN 'stale' WHEN status = 'new' THEN 'urgent' ELSE 'active' END AS c, COUNT(*)"
        " FROM leads_lead GROUP BY c",
        (fresh, stale),
    ).fetchall()
    con.execute(
        "SELECT assigned_agent_id, COUNT(*) FROM leads_lead WHERE status IN ('new', 'contacted', 'qualified')"
        " GROUP BY assigned_agent_id"
    ).fetchall()
    con.close()


def measure(n: int) -> list:
    """One size, in a process of its own: Django is set up once per process, on that size's database."""
    db_path = OUT / f"dashboard-{n}.sqlite3"
    ready = OUT / f"dashboard-{n}.ready"  # the file is complete; a run stopped half-way refills it
    fill = not ready.exists()
    db_path.parent.mkdir(parents=True, exist_ok=True)
    if fill:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    setup_django(database_url=f"sqlite:///{db_path}")
    if fill:
        print(f"  filling {n} leads", file=sys.stderr)
        build(db_path, n)
        ready.touch()

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from leads.dashboard import lead_overview

    as_of = AS_OF.replace(tzinfo=UTC)
    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        lead_overview(as_of=as_of)
    n_queries = len(queries)  # now: every request through the client empties the query log
    selector = best_of(lambda: lead_overview(as_of=as_of))
    page = best_of(lambda: client.get("/admin/lead-overview/", HTTP_HOST="127.0.0.1"))
    raw = best_of(lambda: raw_aggregates(db_path))
    print(f"  {n}: selector {selector:.2f} s, page {page:.2f} s, raw {raw:.2f} s", file=sys.stderr)
    return [f"{n:,}", n_queries, selector, page, raw, f"{selector / raw:.1f}x"]


def main() -> int:
    if os.environ.get("BENCH_DASHBOARD_SIZE"):
        print(json.dumps(measure(int(os.environ["BENCH_DASHBOARD_SIZE"]))))
        return 0
    rows = []
    for n in parse_sizes():
        child = subprocess.run(
            [sys.executable, __file__],
            env={**os.environ, "BENCH_DASHBOARD_SIZE": str(n)},
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
        rows.append(json.loads(child.stdout.strip().splitlines()[-1]))
    print("## Lead overview (admin dashboard)\n")
    print("SQLite file, 100 agents, ~80% open, ~60% assigned; best of 3 runs, seconds. *Raw SQL* is the two GROUP BY")
    print("statements written by hand and run with sqlite3 on the same file, the floor for any page that counts")
    print("every lead. The page adds the admin's own queries (session, user) and the template.\n")
    print(markdown_table(["leads", "queries", "lead_overview()", "page (GET)", "raw SQL", "selector / raw"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
