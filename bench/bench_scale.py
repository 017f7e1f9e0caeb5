#!/usr/bin/env python
"""Every main operation at scale on PostgreSQL and MariaDB, each beside a raw baseline in the same run.

    python bench/bench_scale.py --sizes 1000000 [--engines postgres,mysql]
    make bench-scale        (10,000,000 leads on PostgreSQL: about 1.2 GB of CSV; see the README for its wall time)
    python bench/bench_scale.py --pages-again postgres   (only the pages, on the database the last run left)

For each engine and size, in a database of its own (dropped and created again: BENCH_SCALE_POSTGRES_URL, default
postgres://postgres@127.0.0.1:5432/crm_bench_scale; BENCH_SCALE_MYSQL_URL, default
mysql://root@127.0.0.1:3306/crm_bench_scale), on bench/generate.py's files (seed 42, 5% dirty, 100 agents):

- `import_leads` into the empty table, then the same file again (every row unchanged), each the whole command
  as a process of its own. Raw floor: the stored rows copied (PostgreSQL: COPY; MariaDB: multi-row INSERTs)
  into an unindexed table, then the leads table's indexes built on it.
- `assign_leads --seed 42`. Raw floor: one UPDATE giving the same open leads an agent round-robin, on the copy.
- `verify_assignments` and `classify_leads --json`, whole commands. Raw floor: the GROUP BY a count per agent
  and status needs.
- The lead overview page and the lead changelist for every class filter, the agent filter, a search and the
  date drill-down: a superuser through Django's test client in this process, best of 3.

Peak RSS is the largest of the commands' processes (their own high-water marks, from /proc).
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import child_pids, ensure_data, high_water_mb, markdown_table  # noqa: E402

URLS = {
    "postgres": os.environ.get("BENCH_SCALE_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/crm_bench_scale"),
    "mysql": os.environ.get("BENCH_SCALE_MYSQL_URL", "mysql://root@127.0.0.1:3306/crm_bench_scale"),
}
AS_OF = "2026-11-24T12:00:00+00:00"  # the generator's as-of
OPEN = ("new", "contacted", "qualified")
PAGES = [
    "",
    "?lead_class=fresh",
    "?lead_class=urgent",
    "?lead_class=active",
    "?lead_class=stale",
    "?lead_class=closed",
    "?agent=none",
    "?q=jose+muller",
    "?created_at__year=2026",
    "?created_at__year=2026&created_at__month=10",
]


# ---------------------------------------------------------------------------------------------------------
# The databases, raw


def connect(url: str):
    parts = urlparse(url)
    if parts.scheme.startswith("postgres"):
        import psycopg

        return psycopg.connect(host=parts.hostname, port=parts.port, user=parts.username, dbname=parts.path[1:])
    import MySQLdb

    return MySQLdb.connect(host=parts.hostname, port=parts.port, user=parts.username, database=parts.path[1:])


def recreate(url: str) -> None:
    parts = urlparse(url)
    name = parts.path[1:]
    server = parts._replace(path="/postgres" if parts.scheme.startswith("postgres") else "/mysql").geturl()
    db = connect(server)
    if parts.scheme.startswith("postgres"):
        db.autocommit = True
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        db.execute(f'CREATE DATABASE "{name}"')
    else:
        cursor = db.cursor()
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    db.close()


def seconds_of(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def lead_columns(cursor, engine: str) -> list[str]:
    if engine == "postgres":
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'leads_lead' "
            "ORDER BY ordinal_position"
        )
    else:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() "
            "AND table_name = 'leads_lead' ORDER BY ordinal_position"
        )
    return [row[0] for row in cursor.fetchall()]


def raw_floor(url: str, engine: str) -> dict:
    """The stored leads into an unindexed copy (raw_lead), then the leads table's indexes built on it; then one
    UPDATE giving the open leads an agent round-robin, on the copy."""
    db = connect(url)
    cursor = db.cursor()
    columns = lead_columns(cursor, engine)
    listed = ", ".join(columns)
    out = {}
    if engine == "postgres":
        cursor.execute("DROP TABLE IF EXISTS raw_lead")
        cursor.execute("CREATE TABLE raw_lead (LIKE leads_lead INCLUDING DEFAULTS)")
        db.commit()
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'leads_lead'")
        indexes = [
            d.replace(" ON public.leads_lead ", " ON public.raw_lead ").replace("INDEX ", "INDEX raw_", 1)
            for (d,) in cursor.fetchall()
        ]
        export = connect(url)

        def copy() -> None:
            with (
                export.cursor().copy(f"COPY leads_lead ({listed}) TO STDOUT") as source,
                cursor.copy(f"COPY raw_lead ({listed}) FROM STDIN") as target,
            ):
                for block in source:
                    target.write(block)
            db.commit()

        out["load"] = seconds_of(copy)
        export.close()
    else:
        cursor.execute("DROP TABLE IF EXISTS raw_lead")
        cursor.execute("CREATE TABLE raw_lead AS SELECT * FROM leads_lead WHERE 1 = 0")
        cursor.execute("SHOW INDEX FROM leads_lead")
        by_name: dict[str, list[tuple[int, str, bool]]] = {}
        for row in cursor.fetchall():
            # Table, Non_unique, Key_name, Seq_in_index, Column_name, ...
            by_name.setdefault(row[2], []).append((row[3], row[4], row[1] == 0))
        indexes = []
        for name, parts in by_name.items():
            parts.sort()
            cols = ", ".join(f"`{c}`" for _seq, c, _unique in parts)
            if name == "PRIMARY":
                indexes.append(f"ALTER TABLE raw_lead ADD PRIMARY KEY ({cols})")
            else:
                unique = "UNIQUE " if parts[0][2] else ""
                indexes.append(f"CREATE {unique}INDEX `raw_{name[:56]}` ON raw_lead ({cols})")
        export = connect(url)
        source = export.cursor()
        placeholders = ", ".join(["%s"] * len(columns))

        def copy() -> None:
            source.execute(f"SELECT {listed} FROM leads_lead")
            while rows := source.fetchmany(20_000):
                cursor.executemany(f"INSERT INTO raw_lead ({listed}) VALUES ({placeholders})", rows)
            db.commit()

        out["load"] = seconds_of(copy)
        export.close()

    def build() -> None:
        for statement in indexes:
            cursor.execute(statement)
        db.commit()

    out["index"] = seconds_of(build)
    cursor.execute("SELECT id FROM agents_agent ORDER BY id")
    agents = [a for (a,) in cursor.fetchall()]
    statuses = ", ".join(f"'{s}'" for s in OPEN)

    def update() -> None:
        cursor.execute(
            f"UPDATE raw_lead SET assigned_agent_id = {agents[0]} + (id % {len(agents)}) WHERE status IN ({statuses})"
        )
        db.commit()

    out["update"] = seconds_of(update)

    def group_by() -> None:
        cursor.execute("SELECT assigned_agent_id, status, COUNT(*) FROM leads_lead GROUP BY assigned_agent_id, status")
        cursor.fetchall()

    out["group_by"] = min(seconds_of(group_by) for _ in range(3))
    cursor.execute("DROP TABLE raw_lead")
    db.commit()
    db.close()
    return out


# ---------------------------------------------------------------------------------------------------------
# The product


def command(url: str, *args: str) -> tuple[float, float]:
    """Run manage.py with these arguments; (wall seconds, peak RSS MB of it and its children)."""
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "1"}
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak = [0.0]

    def watch() -> None:
        while process.poll() is None:
            pids = [process.pid, *child_pids(process.pid)]
            peak[0] = max(peak[0], sum(high_water_mb(p) for p in pids))
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _out, err = process.communicate()
    seconds = time.perf_counter() - start
    watcher.join()
    if process.returncode not in (0,):
        raise SystemExit(f"manage.py {' '.join(args)} failed ({process.returncode}): {err.decode()[-2000:]}")
    return seconds, peak[0]


def pages(url: str) -> list[tuple[str, float, int]]:
    """The overview and each changelist, best of 3, through Django in this process: (what, seconds, queries)."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection, connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    for alias in connections:
        connections[alias].close()
    user, _ = get_user_model().objects.get_or_create(username="bench-scale", defaults={"is_superuser": True})
    user.is_staff = user.is_superuser = True
    user.save()
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    results = []
    changelist = reverse("admin:leads_lead_changelist")
    for what, path in [("lead overview", reverse("admin:lead_overview"))] + [
        (f"changelist {query or '(all)'}", f"{changelist}{query}") for query in PAGES
    ]:
        client.get(path)  # warm
        best = float("inf")
        for _ in range(3):
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                response = client.get(path)
                best = min(best, time.perf_counter() - start)
            assert response.status_code == 200, (path, response.status_code)
        results.append((what, best, len(queries)))
    return results


def measure(engine: str, n: int) -> list[list]:
    url = URLS[engine]
    recreate(url)
    folder = ensure_data(n)
    print(f"{engine}, {n:,} leads:", file=sys.stderr)
    command(url, "migrate", "--verbosity", "0")
    command(url, "import_agents", str(folder / "agents.csv"))
    rows = []

    def step(what: str, *args: str, target: str = "") -> tuple[float, list]:
        """Run one command; (its seconds, its row, whose "against" column a raw floor measured later fills)."""
        seconds, peak = command(url, *args)
        print(f"  {what}: {seconds:.2f} s, {peak:.0f} MB", file=sys.stderr)
        row = [f"{n:,}", engine, what, round(seconds, 2), target, round(peak)]
        rows.append(row)
        return seconds, row

    imported, import_row = step("`import_leads` (empty table)", "import_leads", str(folder / "leads.csv"))
    step("`import_leads` again (every row unchanged)", "import_leads", str(folder / "leads.csv"))
    floor = raw_floor(url, engine)
    rows.append(
        [f"{n:,}", engine, "raw: copy of the stored rows into an unindexed table", round(floor["load"], 2), "", ""]
    )
    rows.append([f"{n:,}", engine, "raw: building the leads table's indexes on it", round(floor["index"], 2), "", ""])
    base = floor["load"] + floor["index"]
    import_row[4] = f"{imported / base:.2f}x of raw copy + indexes (target 1.5x)"
    assigned, assign_row = step("`assign_leads --seed 42`", "assign_leads", "--seed", "42", "--as-of", AS_OF)
    rows.append([f"{n:,}", engine, "raw: one UPDATE of the open leads, round-robin", round(floor["update"], 2), "", ""])
    assign_row[4] = f"{assigned / floor['update']:.2f}x of raw UPDATE (target 2x)"
    step("`verify_assignments`", "verify_assignments", "--as-of", AS_OF, target="target 2 s")
    step("`classify_leads --json`", "classify_leads", "--json", "--as-of", AS_OF, target="target 2 s")
    rows.append([f"{n:,}", engine, "raw: GROUP BY agent, status", round(floor["group_by"], 2), "", ""])
    for what, seconds, queries in pages(url):
        target = "target 2 s" if what == "lead overview" else "target 1 s"
        rows.append([f"{n:,}", engine, f"{what} ({queries} queries)", round(seconds, 2), target, ""])
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000", help="make bench passes several: the largest, up to 1M, runs")
    parser.add_argument("--engines", default="postgres,mysql")
    parser.add_argument("--full", action="store_true", help="run the sizes given, beyond 1M too (make bench-scale)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # engine:size, measured in this process (Django set up once)
    parser.add_argument(
        "--pages-again",
        metavar="ENGINE",
        help="only the pages, on the database the last run of that engine left (after a change to the admin)",
    )
    args = parser.parse_args()
    if args.pages_again:
        return pages_again(args.pages_again)
    if args.one:
        engine, n = args.one.split(":")
        print(json.dumps(measure(engine, int(n))))
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    sizes = sorted(set(sizes)) if args.full else [min(max(sizes), 1_000_000)]
    engines = args.engines.split(",")
    load = os.getloadavg()[0]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows = []
    for engine in engines:
        for n in sizes:
            one = subprocess.run(
                [sys.executable, __file__, "--one", f"{engine}:{n}"], cwd=ROOT, stdout=subprocess.PIPE, text=True
            )
            if one.returncode != 0:
                return one.returncode
            rows += json.loads(one.stdout)
    names = " and ".join({"postgres": "PostgreSQL", "mysql": "MariaDB"}[e] for e in engines)
    print(f"## At scale: {max(sizes):,} leads on {names} (bench/bench_scale.py)\n")
    print(
        f"Run on {started}; load average before the run: {load:.2f}. Engines with their default configuration on "
        "the same machine. Whole commands, each a process of its own; pages through Django's test client as a "
        "superuser, best of 3; bench/generate.py's files (seed 42, 5% dirty, 100 agents). The machine is shared "
        "with other work: the numbers are noisy.\n"
    )
    print(markdown_table(["leads", "engine", "operation", "seconds", "against", "peak RSS MB"], rows))
    return 0


def pages_again(engine: str) -> int:
    load = os.getloadavg()[0]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows = []
    for what, seconds, queries in pages(URLS[engine]):
        target = "target 2 s" if what == "lead overview" else "target 1 s"
        rows.append([what, queries, round(seconds, 2), target])
    from leads.models import Lead

    name = {"postgres": "PostgreSQL", "mysql": "MariaDB"}[engine]
    print(f"## At scale: the admin pages again, {Lead.objects.count():,} leads on {name} (bench/bench_scale.py)\n")
    print(
        f"Run on {started}, load average before the run {load:.2f}, with `--pages-again {engine}` on the database "
        "the run above left: the overview and the changelists only, best of 3, as a superuser.\n"
    )
    print(markdown_table(["page", "queries", "seconds", "against"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
