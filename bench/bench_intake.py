#!/usr/bin/env python
"""Benchmark the intake API against a real server: gunicorn with DEBUG off over a database of N leads.

    python bench/bench_intake.py --sizes 1000000 [--engines sqlite,postgres] [--seconds 15] [--reuse]
    make bench BENCH=intake

For each engine (SQLite file; PostgreSQL at BENCH_POSTGRES_URL, default
postgres://postgres@127.0.0.1:5432/crm_bench_intake, dropped and created again) and each size, in a process of its
own (--reuse: a database left by an earlier run is kept, only migrated and its unassigned open leads assigned):
the database is built by the product's fast path (bench/generate.py's leads and 100 agents, `import_agents`,
`import_leads`, then `assign_leads` so that every open lead has an agent, as in a team at work), an API key is
made, `collectstatic` runs and gunicorn starts with crm/gunicorn_conf.py (WEB_CONCURRENCY workers x
GUNICORN_THREADS threads, below). Clients are threads of this process, each with one persistent HTTP connection
(http.client, keep-alive), posting new leads (unique emails) one per request for --seconds at 1, 10 and 50
clients at once; then the batch endpoint, 1,000 leads per request.

Baselines in the same run, on the same server and database:
- HTTP floor: the same clients GETting a static file (whitenoise, no database): gunicorn, HTTP and this
  harness, nothing of the product's own work;
- key check: the same clients GETting the lead of an unknown email (404): authentication and the per-key
  request count (one UPDATE of the key's row), no intake;
- database floor: one INSERT of a lead (Lead.objects.create, autocommit) per operation, from the same number
  of threads each with its own connection, no HTTP: what the engine itself takes to commit a row that often.

Then one POST is profiled in this process (Django's test client, the same settings): every SQL statement
timed, so the table shows where a request's time goes.
"""

import argparse
import datetime
import http.client
import json
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import OUT, ensure_data, markdown_table  # noqa: E402

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/crm_bench_intake")
CLIENTS = (1, 10, 50)
WORKERS, THREADS = 4, 4  # gunicorn: processes x threads per process (2 cores here)
BATCH = 1_000  # leads per batch request
TARGET_P95_MS = 100
TARGET_BATCH_RATE = 20_000
RUN = secrets.token_hex(3)  # in every posted email: a reused database (--reuse) still gets new leads


# ---------------------------------------------------------------------------------------------------------
# The clients


def drive(port: int, clients: int, seconds: float, request) -> dict:
    """`clients` threads, each on one keep-alive connection, calling request(i) -> (method, path, body, headers,
    expected status) until the deadline; latency percentiles (ms), rate and unexpected answers."""
    barrier = threading.Barrier(clients + 1)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: list[str] = []
    statuses: dict = {}  # unexpected status (None: the connection failed) -> how many
    deadline = [0.0]

    def client(c: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        barrier.wait()
        n = 0
        mine = latencies[c]
        while time.monotonic() < deadline[0]:
            method, path, body, headers, expected = request(c, n)
            n += 1
            start = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                status, payload = response.status, response.read()
            except (http.client.HTTPException, OSError) as error:  # counted, then on a new connection
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                status, payload = None, repr(error).encode()
            mine.append(time.perf_counter() - start)
            if status != expected:
                failures.append(f"{status} {payload[:200]!r}")
                statuses[status] = statuses.get(status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for thread in threads:
        thread.start()
    deadline[0] = time.monotonic() + seconds
    start = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    every = sorted(x * 1000 for lat in latencies for x in lat)
    return {
        "requests": len(every),
        "per_s": len(every) / elapsed,
        **percentiles(every),
        "failed": len(failures),
        "failures": failures[:3],
        "statuses": {str(k): v for k, v in statuses.items()},
    }


def percentiles(ms: list[float]) -> dict:
    if len(ms) < 2:
        return {"p50": ms[0] if ms else 0.0, "p95": ms[0] if ms else 0.0, "p99": ms[0] if ms else 0.0}
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98]}


# ---------------------------------------------------------------------------------------------------------
# One engine and size, in a process of its own


def fresh_database(engine: str, n: int, reuse: bool = False) -> str:
    if engine == "sqlite":
        path = OUT / f"intake-{n}.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        if reuse and path.exists():
            return f"sqlite:///{path}"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    parts = urlsplit(POSTGRES_URL)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as con:
        exists = con.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if reuse and exists:
            return POSTGRES_URL
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        con.execute(f'CREATE DATABASE "{name}"')
    return POSTGRES_URL


def build(n: int, reuse: bool = False) -> dict:
    """Agents and n leads by the import commands, the open ones assigned; seconds per step. reuse: on a
    database already holding leads, only the steps still to do (migrate; assign_leads while open leads lack an
    agent)."""
    from django.core.management import call_command
    from django.db.utils import OperationalError, ProgrammingError

    data = ensure_data(n)
    took = {}
    steps = [
        ("migrate", ["migrate", "--verbosity", "0"]),
        ("import_agents", ["import_agents", str(data / "agents.csv"), "--json"]),
        ("import_leads", ["import_leads", str(data / "leads.csv"), "--json"]),
        ("assign_leads", ["assign_leads", "--seed", "42", "--json"]),
    ]
    if reuse:
        from leads.models import Lead

        try:
            held = Lead.objects.exists()
        except (OperationalError, ProgrammingError):
            held = False
        if held:
            steps = steps[:1] + (steps[3:] if Lead.objects.open().unassigned().exists() else [])
    for label, args in steps:
        start = time.perf_counter()
        with open(os.devnull, "w") as quiet:
            call_command(*args, stdout=quiet)
        took[label] = time.perf_counter() - start
        print(f"  {label}: {took[label]:.1f} s", file=sys.stderr)
    return took


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(
    database_url: str, static_root: Path, extra: dict | None = None
) -> tuple[subprocess.Popen, int, dict]:
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP on the loopback, as behind a proxy that ends TLS
        "DATABASE_URL": database_url,
        "STATIC_ROOT": str(static_root),
        "API_RATE_LIMIT": "1000000000",
        "WEB_CONCURRENCY": str(WORKERS),
        "GUNICORN_THREADS": str(THREADS),
        "LOG_LEVEL": "ERROR",  # not a "Not Found" line per key check
        **(extra or {}),
    }
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "crm/gunicorn_conf.py", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,  # the access log
        stderr=(OUT / "intake-gunicorn.log").open("w"),
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/admin/login/")
            if conn.getresponse().status == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            raise SystemExit("gunicorn did not start")
        time.sleep(0.3)
    return server, port, env


def database_floor(clients: int, seconds: float, tag: str) -> dict:
    """One INSERT per operation, `clients` threads with a connection each, no HTTP."""
    from django.db import connection

    from core import clock
    from leads.models import Lead

    barrier = threading.Barrier(clients + 1)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    deadline = [0.0]
    now = clock.now()

    def worker(c: int) -> None:
        barrier.wait()
        n = 0
        while time.monotonic() < deadline[0]:
            start = time.perf_counter()
            Lead.objects.create(name="Floor", email=f"floor-{RUN}-{tag}-{c}-{n}@bench.example", created_at=now)
            latencies[c].append(time.perf_counter() - start)
            n += 1
        connection.close()

    threads = [threading.Thread(target=worker, args=(c,)) for c in range(clients)]
    for thread in threads:
        thread.start()
    deadline[0] = time.monotonic() + seconds
    start = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    every = sorted(x * 1000 for lat in latencies for x in lat)
    return {"requests": len(every), "per_s": len(every) / elapsed, **percentiles(every), "failed": 0, "failures": []}


# The functions whose time the profile reports (cumulative, for one request).
PROFILED = [
    ("leads/api.py", "count_request"),  # the key's request count
    ("imports/records.py", "clean_records"),  # the import's cleaning rules over the posted values
    ("leads/intake.py", "_save"),  # read, insert, assign, read back
    ("leads/assignment/service.py", "assign_on_arrival"),
    ("leads/assignment/service.py", "load_agents"),  # every agent's load: the aggregate over the open leads
    ("leads/assignment/service.py", "_write_arrivals"),  # the run, the agents' UPDATEs, the audit rows
    ("django/db/models/query.py", "bulk_create"),
    ("leads/classification.py", "classify"),  # the answer's class, per lead
]


def profile_post(key: str, path: str, body) -> dict:
    """One request through Django in this process: each SQL statement timed, and the time of PROFILED."""
    import cProfile
    import pstats

    from django.db import connection
    from django.test import Client

    statements = []

    def timer(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append(((time.perf_counter() - start) * 1000, " ".join(sql.split())))

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {key}")
    with connection.execute_wrapper(timer):
        start = time.perf_counter()
        response = client.post(path, json.dumps(body(0)), content_type="application/json")
        total = (time.perf_counter() - start) * 1000
    assert response.status_code in (200, 201), response.content
    # The same request again under cProfile, which slows Python down (not SQL): its shares, not its times.
    profiler = cProfile.Profile()
    profiler.enable()
    response = client.post(path, json.dumps(body(1)), content_type="application/json")
    profiler.disable()
    assert response.status_code in (200, 201), response.content
    stats = pstats.Stats(profiler)
    whole = max(cumulative for (_cc, _nc, _tt, cumulative, _callers) in stats.stats.values())
    shares = {}
    for (filename, _line, name), (_cc, _nc, _tt, cumulative, _callers) in stats.stats.items():
        for suffix, wanted in PROFILED:
            if name == wanted and filename.endswith(suffix):
                shares[name] = shares.get(name, 0) + cumulative / whole
    slowest = sorted(statements, reverse=True)[:2]
    return {
        "total_ms": total,
        "sql_ms": sum(ms for ms, _ in statements),
        "statements": len(statements),
        "slowest": [[round(ms, 1), sql[:110]] for ms, sql in slowest],
        "shares": shares,
    }


def profile(key: str) -> dict:
    def lead(tag, j=0):
        return {"name": "Profiled Lead", "email": f"profiled-{tag}-{j}-{time.time_ns()}@bench.example"}

    profile_post(key, "/api/v1/leads", lambda r: lead("warm", r))  # imports, the first connection
    one = profile_post(key, "/api/v1/leads", lambda r: lead("one", r))
    batch = profile_post(key, "/api/v1/leads/batch", lambda r: {"leads": [lead(f"batch{r}", j) for j in range(BATCH)]})
    return {"one": one, "batch": batch}


def measure(engine: str, n: int, seconds: float, *, reuse: bool = False, parts=("single", "batch")) -> dict:
    database_url = fresh_database(engine, n, reuse)
    os.environ["DATABASE_URL"] = database_url
    os.environ["API_RATE_LIMIT"] = "1000000000"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    import django

    django.setup()
    from leads.models import ApiKey, Lead

    print(f"{engine}, {n:,} leads:", file=sys.stderr)
    took = build(n, reuse)
    leads_before = Lead.objects.count()
    open_assigned = Lead.objects.open().filter(assigned_agent__isnull=False).count()
    key = ApiKey.issue(name="Bench", source="bench")[1]
    rows, batches = [], []
    if "single" in parts:
        server, port, _env = start_gunicorn(database_url, OUT / f"intake-static-{engine}")
        auth = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        try:
            static = "/static/ninja/favicon.png"
            conn = http.client.HTTPConnection("127.0.0.1", port)
            conn.request("GET", "/api/v1/docs")
            page = conn.getresponse().read().decode()
            for word in page.split('"'):
                if word.startswith("/static/ninja/favicon.") and word.endswith(".png"):
                    static = word
            conn.close()

            def post_lead(level):
                def request(c, i):
                    body = json.dumps(
                        {
                            "name": f"Bench Lead {c} {i}",
                            "email": f"intake-{RUN}-{level}-{c}-{i}@bench.example",
                            "company": "Acme",
                            "status": "New",
                        }
                    )
                    return "POST", "/api/v1/leads", body, auth, 201

                return request

            def get_static(c, i):
                return "GET", static, None, {}, 200

            def unknown_lead(c, i):
                return "GET", "/api/v1/leads?email=nobody@bench.example", None, auth, 404

            drive(port, 1, 2, post_lead("warm"))  # warm: every worker's imports and connections
            for clients in CLIENTS:
                for label, request, span in [
                    ("HTTP floor: GET a static file", get_static, seconds / 3),
                    ("key check: GET an unknown lead (404)", unknown_lead, seconds / 3),
                    ("**POST /api/v1/leads** (one new lead)", post_lead(clients), seconds),
                ]:
                    result = drive(port, clients, span, request)
                    print(f"  {clients} clients, {label}: {json.dumps(result)}", file=sys.stderr)
                    rows.append([clients, label, result])
                result = database_floor(clients, seconds / 3, str(clients))
                print(f"  {clients} clients, database floor: {json.dumps(result)}", file=sys.stderr)
                rows.append([clients, "database floor: one INSERT per lead, no HTTP", result])

        finally:
            server.terminate()
            server.wait(timeout=60)
    if "batch" in parts:
        for assign in ("0", "1"):
            batches += measure_batch(database_url, engine, key, seconds, assign=assign)
        batches.append(database_floor_batch(seconds / 3))
        print(f"  batch database floor: {json.dumps(batches[-1])}", file=sys.stderr)
    profiled = profile(key)
    print(f"  profile: {json.dumps(profiled)}", file=sys.stderr)
    return {
        "engine": engine,
        "leads": leads_before,
        "open_assigned": open_assigned,
        "build": took,
        "rows": rows,
        "batches": batches,
        "profile": profiled,
    }


BATCH_CLIENTS = (1, 4)


def measure_batch(database_url: str, engine: str, key: str, seconds: float, *, assign: str) -> list:
    """The batch endpoint, 1,000 new leads per request, at BATCH_CLIENTS clients, on a server with
    ASSIGN_ON_ARRIVAL `assign`; first its HTTP floor: one lead too many (413 once the body is read and parsed and
    the key counted: HTTP, the body and authentication, no intake)."""
    server, port, _env = start_gunicorn(
        database_url, OUT / f"intake-static-{engine}", extra={"ASSIGN_ON_ARRIVAL": assign}
    )
    rows = []
    label = "on" if assign == "1" else "off"

    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def post_batch(expected: int, tag: str, size: int = BATCH):
        def request(c, i):
            email = f"batch-{RUN}-{tag}-{c}-{i}-{{}}@bench.example"
            leads = [{"name": f"Batch {c} {i} {j}", "email": email.format(j), "company": "Acme"} for j in range(size)]
            return "POST", "/api/v1/leads/batch", json.dumps({"leads": leads}), headers, expected

        return request

    try:
        drive(port, 1, 2, post_batch(200, f"warm{label}{time.time_ns()}"))  # every worker's imports
        for clients in BATCH_CLIENTS:
            if assign == "0":
                result = drive(port, clients, seconds / 3, post_batch(413, "floor", BATCH + 1))
                rows.append([clients, "HTTP floor: a body of 1,001 leads (413: read, parsed, key counted)", result])
                print(f"  batch {clients} clients, HTTP floor: {json.dumps(result)}", file=sys.stderr)
            result = drive(port, clients, seconds, post_batch(200, f"{label}{clients}{time.time_ns()}"))
            rows.append([clients, f"**POST /api/v1/leads/batch**, ASSIGN_ON_ARRIVAL {label}", result])
            print(f"  batch {clients} clients, assign {label}: {json.dumps(result)}", file=sys.stderr)
    finally:
        server.terminate()
        server.wait(timeout=60)
    return rows


def database_floor_batch(seconds: float) -> list:
    """One multi-row INSERT of 1,000 leads per transaction, raw SQL from this process, no HTTP, no cleaning."""
    from django.db import connection, transaction

    from core import clock

    names = ["name", "email", "phone", "company", "source", "country", "status", "created_at"]
    names += ["name_key", "company_key", "phone_key", "added_at", "updated_at"]
    now = connection.ops.adapt_datetimefield_value(clock.now())
    sql = (
        f"INSERT INTO leads_lead ({', '.join(names)}) VALUES "
        + ", ".join([f"({', '.join(['%s'] * len(names))})"] * BATCH)
        + " RETURNING id"
    )
    latencies, tag = [], time.time_ns()
    deadline = time.monotonic() + seconds
    start = time.perf_counter()
    while time.monotonic() < deadline:
        n = len(latencies)
        params = []
        for j in range(BATCH):
            params += [f"Floor {n} {j}", f"floor-{tag}-{n}-{j}@bench.example", "", "Acme", "bench", "", "new", now]
            params += [f"floor {n} {j}", "acme", "", now, now]
        begin = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
            cursor.fetchall()
        latencies.append(time.perf_counter() - begin)
    elapsed = time.perf_counter() - start
    every = sorted(x * 1000 for x in latencies)
    result = {"requests": len(every), "per_s": len(every) / elapsed, **percentiles(every), "failed": 0}
    return [1, "database floor: one raw multi-row INSERT ... RETURNING of 1,000 leads per transaction, no HTTP", result]


# ---------------------------------------------------------------------------------------------------------
# The report


def machine_line() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}, {os.cpu_count()} cores; {system}; Python {platform.python_version()}"


def postgres_version() -> str:
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    parts = urlsplit(POSTGRES_URL)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres"))) as con:
        return con.execute("SHOW server_version").fetchone()[0]


def report(results: list[dict], seconds: float, load: str) -> str:
    import sqlite3

    lines = ["## Intake API under load (bench/bench_intake.py)\n"]
    engines = {"sqlite": f"SQLite {sqlite3.sqlite_version} (file, WAL)"}
    if any(r["engine"] == "postgres" for r in results):
        engines["postgres"] = f"PostgreSQL {postgres_version()} (same machine)"
    lines.append(
        f"Run on {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; machine: {machine_line()}; load average "
        f"before the run (`uptime`): {load}. The machine is shared with other work: the numbers are noisy.\n"
    )
    lines.append(
        f"Server: gunicorn with crm/gunicorn_conf.py, {WORKERS} worker processes x {THREADS} threads (gthread), "
        "DEBUG off, plain HTTP on the loopback, one API key, rate limit lifted. Database: bench/generate.py's "
        "leads (seed 42, 5% dirty) imported with `import_leads`, 100 agents with `import_agents`, the open leads "
        "assigned with `assign_leads`, so every new lead is assigned on arrival among agents already holding "
        "about 10,000 open leads each. Clients: threads of the benchmark process on the same 2 cores, one keep-alive "
        f"connection each (http.client), for {seconds:.0f} s per POST run ({seconds / 3:.0f} s per baseline). "
        "Baselines, same run: *HTTP floor* GETs a static file (whitenoise, no database); *key check* GETs an "
        "unknown email (authentication and the key's request count: one UPDATE of its row, no intake); "
        "*database floor* is one INSERT per lead (`Lead.objects.create`, autocommit) from as many threads with a "
        f"connection each, no HTTP. Target: p95 under {TARGET_P95_MS} ms at 10 clients; batch at least "
        f"{TARGET_BATCH_RATE:,} leads/s.\n"
    )
    for result in results:
        engine = engines[result["engine"]]
        build = ", ".join(f"{k} {v:.0f} s" for k, v in result["build"].items())
        lines.append(
            f"\n### {engine}, {result['leads']:,} leads ({result['open_assigned']:,} open and assigned)\n\n"
            f"Built in: {build}.\n"
        )
        if result["rows"]:
            lines.append(
                markdown_table(
                    ["clients", "what", "requests", "per second", "p50 ms", "p95 ms", "p99 ms"], _table(result["rows"])
                )
            )
        if result["batches"]:
            lines.append(
                f"\nBatch endpoint, {BATCH:,} new leads per request ({seconds:.0f} s per run, {seconds / 3:.0f} s "
                "per floor); leads per second = requests per second x 1,000:\n"
            )
            lines.append(
                markdown_table(
                    ["clients", "what", "requests", "leads per second", "p50 ms", "p95 ms", "p99 ms"],
                    _table(result["batches"], per=BATCH),
                )
            )
        profiled = result["profile"]
        for label, p in [("One POST", profiled["one"]), (f"One batch of {BATCH:,}", profiled["batch"])]:
            slowest = "; ".join(f"{ms} ms `{sql}...`" for ms, sql in p["slowest"])
            shares = ", ".join(f"`{name}` {share:.0%}" for name, share in p["shares"].items())
            lines.append(
                f"\n{label} profiled in process after the runs (Django's test client; timed without cProfile, "
                "the shares from a second run under it): "
                f"{p['total_ms']:.0f} ms, {p['sql_ms']:.0f} ms of it in {p['statements']} SQL statements "
                f"(slowest: {slowest}); share of the request under cProfile: {shares}."
            )
    return "\n".join(lines)


def _table(rows: list, per: int = 1) -> list:
    table = []
    for clients, label, r in rows:
        bad = ""
        if r["failed"]:
            seen = ", ".join(f"{n} x {status}" for status, n in sorted(r.get("statuses", {}).items()))
            bad = f" ({r['failed']} failed: {seen})"
        rate = r["per_s"] * per
        rate = f"{rate:.1f}" if rate < 100 else f"{rate:,.0f}"
        table.append([clients, label + bad, f"{r['requests']:,}", rate, r["p50"], r["p95"], r["p99"]])
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000", help="comma-separated lead counts")
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--seconds", type=float, default=15, help="length of each POST run")
    parser.add_argument(
        "--reuse", action="store_true", help="use the database an earlier run built (migrated), if it holds leads"
    )
    parser.add_argument("--parts", default="single,batch", help="single (one lead per POST), batch, or both")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # ENGINE:SIZE, the child process
    args = parser.parse_args()
    parts = tuple(p for p in args.parts.split(",") if p)
    if args.one:
        engine, n = args.one.split(":")
        print(json.dumps(measure(engine, int(n), args.seconds, reuse=args.reuse, parts=parts)))
        return 0
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    results = []
    for engine in [e for e in args.engines.split(",") if e]:
        for n in [int(s) for s in args.sizes.split(",") if s]:
            done = subprocess.run(
                [sys.executable, __file__, "--one", f"{engine}:{n}", "--seconds", str(args.seconds)]
                + ["--parts", args.parts]
                + (["--reuse"] if args.reuse else []),
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
                env={**os.environ, "DEBUG": os.environ.get("DEBUG", "1")},
            )
            if done.returncode != 0:
                print(f"bench_intake: {engine} with {n} leads failed (exit {done.returncode})", file=sys.stderr)
                return done.returncode
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    (OUT / "intake-results.json").write_text(json.dumps({"results": results, "load": load}, indent=1))
    print(report(results, args.seconds, load))
    return 0


if __name__ == "__main__":
    sys.exit(main())
