#!/usr/bin/env python
"""Classification, look-up and the lead changelist at scale, on SQLite.

    python bench/bench_classify.py --sizes 100000,1000000

Leads are loaded straight into the table with executemany (names, statuses and
ages drawn like bench/generate.py, 70% assigned to 100 agents), then each
product path is timed beside a raw SQL baseline on the same data: classify_leads
beside a hand-written GROUP BY over the same CASE expression, lookup_lead beside
a raw LIKE count, and the admin changelist (a logged-in superuser through
Django's test client) for every class filter, the unassigned filter, a search
and the date drill-down. Each figure is the median of 3 runs, after one warm-up.
"""

import statistics
import sys
import time
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from io import StringIO

from common import markdown_table, parse_sizes, peak_rss_mb, setup_django, timed

AS_OF = "2026-11-24"
AS_OF_DT = datetime(2026, 11, 24, tzinfo=UTC)
N_AGENTS = 100
RUNS = 3


def load(n: int, seed: int = 42) -> None:
    import numpy as np
    from django.db import connection, transaction

    from agents.models import Agent
    from bench.generate import FIRST, LAST
    from core.normalize import name_key
    from leads.choices import LeadStatus

    rng = np.random.default_rng(seed)
    Agent.objects.bulk_create(
        Agent(name=f"Agent {i}", email=f"agent{i}@sales.example", is_active=i % 10 != 0) for i in range(1, N_AGENTS + 1)
    )
    agent_ids = np.array(list(Agent.objects.values_list("pk", flat=True)))
    names = [f"{first} {last}" for first in FIRST for last in LAST]
    keys = [name_key(name) for name in names]
    pick = rng.integers(0, len(names), n)
    statuses = np.array([s.value for s in LeadStatus])
    status = statuses[rng.choice(len(statuses), n, p=[0.35, 0.25, 0.15, 0.12, 0.13])]
    age = rng.integers(0, 90 * 86400, n)
    agent = np.where(rng.random(n) < 0.7, agent_ids[rng.integers(0, len(agent_ids), n)], 0)
    as_of_naive = AS_OF_DT.replace(tzinfo=None)
    stamp = as_of_naive.strftime("%Y-%m-%d %H:%M:%S")

    def rows():
        for i in range(n):
            created = (as_of_naive - timedelta(seconds=int(age[i]))).strftime("%Y-%m-%d %H:%M:%S")
            j = pick[i]
            yield (
                names[j],
                keys[j],
                f"lead{i}@example.com",
                "(555) 010-0000",
                "Acme",
                "Web",
                status[i],
                created,
                int(agent[i]) or None,
                stamp,
                stamp,
            )

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO leads_lead (name, name_key, email, phone, company, source, status, created_at,"
            " assigned_agent_id, added_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            rows(),
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def median_seconds(fn) -> float:
    fn()  # warm-up: page cache, Django's first-use imports
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def raw_case_sql(per_agent: bool) -> tuple[str, list]:
    from django.conf import settings

    fresh = AS_OF_DT - timedelta(days=settings.LEADS_FRESH_DAYS)
    stale = AS_OF_DT - timedelta(days=settings.LEADS_STALE_DAYS)
    fmt = "%Y-%m-%d %H:%M:%S"
    case = (
        "CASE WHEN status IN ('converted', 'lost') THEN 'closed' WHEN created_at > %s THEN 'fresh' "
        "WHEN created_at <= %s THEN 'stale' WHEN status = 'new' THEN 'urgent' ELSE 'active' END"
    )
    group = ", assigned_agent_id" if per_agent else ""
    sql = f"SELECT {case} AS c{group}, COUNT(*) FROM leads_lead GROUP BY c{group}"
    return sql, [fresh.strftime(fmt), stale.strftime(fmt)]


def raw(sql: str, params=()):
    from django.db import connection

    def run():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    return run


def command(*args):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    def run():
        with suppress(CommandError):  # lookup_lead exits 1 on no match: that is the path being timed
            call_command(*args, stdout=StringIO(), stderr=StringIO())

    return run


def page(client, url: str):
    def run():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    return run


def queries_of(fn) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        fn()
    return len(captured.captured_queries)


def bench(n: int) -> list[list]:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import setup_test_environment

    if settings.configured:  # a previous size ran: its database file is about to be replaced
        from django.db import connections

        connections.close_all()
    setup_django()
    with timed(f"load {n} leads"):
        load(n)
    if not hasattr(bench, "test_environment"):
        setup_test_environment()  # lets the test client's host in
        bench.test_environment = True
    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench")
    client = Client()
    client.force_login(user)
    changelist = "/admin/leads/lead/"
    cases = [
        (
            "classify_leads --json",
            command("classify_leads", "--as-of", AS_OF, "--json"),
            "raw GROUP BY CASE",
            raw(*raw_case_sql(False)),
        ),
        ("(same, per agent)", None, "raw GROUP BY CASE, agent", raw(*raw_case_sql(True))),
        (
            "lookup_lead 'jose muller'",
            command("lookup_lead", "jose muller", "--as-of", AS_OF),
            "raw COUNT LIKE '%jose muller%'",
            raw("SELECT COUNT(*) FROM leads_lead WHERE name_key LIKE %s", ["%jose muller%"]),
        ),
        ("lookup_lead 'MÜLLER'", command("lookup_lead", "MÜLLER", "--as-of", AS_OF), "", None),
        ("lookup_lead 'nobody' (no match)", command("lookup_lead", "nobody", "--as-of", AS_OF), "", None),
        (
            "changelist",
            page(client, changelist),
            "raw first page",
            raw("SELECT * FROM leads_lead ORDER BY created_at DESC, id DESC LIMIT 100"),
        ),
    ]
    case_sql, case_params = raw_case_sql(False)
    case_expression = case_sql.split("SELECT ", 1)[1].split(" AS c", 1)[0]
    for lead_class in ("fresh", "urgent", "active", "stale", "closed"):
        # Baseline: the naive filter on the CASE expression, the count and the first page only.
        where = f"WHERE {case_expression} = %s"
        naive = [
            raw(f"SELECT COUNT(*) FROM leads_lead {where}", [*case_params, lead_class]),
            raw(
                f"SELECT * FROM leads_lead {where} ORDER BY created_at DESC, id DESC LIMIT 100",
                [*case_params, lead_class],
            ),
        ]
        cases.append(
            (
                f"changelist ?lead_class={lead_class}",
                page(client, f"{changelist}?lead_class={lead_class}"),
                "raw count + page WHERE CASE = class",
                lambda naive=naive: [q() for q in naive],
            )
        )
    cases += [
        ("changelist ?agent=none", page(client, f"{changelist}?agent=none"), "", None),
        (
            "changelist ?lead_class=urgent&agent=none",
            page(client, f"{changelist}?lead_class=urgent&agent=none"),
            "",
            None,
        ),
        ("changelist ?q=jose muller", page(client, f"{changelist}?q=jose+muller"), "", None),
        ("changelist ?created_at__year=2026", page(client, f"{changelist}?created_at__year=2026"), "", None),
        (
            "changelist ?created_at__year=2026&created_at__month=10",
            page(client, f"{changelist}?created_at__year=2026&created_at__month=10"),
            "",
            None,
        ),
    ]
    rows = []
    for label, product, baseline_label, baseline in cases:
        print(f"  {n}: {label}", file=sys.stderr)
        product_s = median_seconds(product) if product else None
        baseline_s = median_seconds(baseline) if baseline else None
        n_queries = queries_of(product) if product else ""
        rows.append(
            [
                f"{n:,}",
                label,
                "" if product_s is None else product_s,
                n_queries,
                baseline_label,
                "" if baseline_s is None else baseline_s,
            ]
        )
    return rows


def main() -> int:
    sizes = parse_sizes()
    rows = []
    for n in sizes:
        rows += bench(n)
    print("## Classification, look-up and the lead changelist (SQLite)\n")
    print(
        f"`bench/bench_classify.py`: leads loaded with raw inserts, as of {AS_OF}, 100 agents, 70% of leads "
        f"assigned; median of {RUNS} warm runs in seconds; admin pages through Django's test client as a "
        "superuser (the whole request: queries and rendering); queries = SQL statements per run. "
        "The machine is shared with other work, so figures are noisy.\n"
    )
    print(markdown_table(["leads", "product path", "seconds", "queries", "raw baseline", "seconds"], rows))
    print(f"\nPeak memory: {peak_rss_mb():.0f} MB.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
