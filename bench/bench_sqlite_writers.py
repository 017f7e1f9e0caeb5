#!/usr/bin/env python
"""SQLite writers in a queue (core.backends.sqlite3) beside SQLite's own wait, in the same run.

    python bench/bench_sqlite_writers.py [--seconds 5] [--hold-ms 5]

Threads with a Django connection each (as gunicorn's threads have) write to one SQLite file in a closed loop: each
transaction (an atomic block, BEGIN IMMEDIATE) inserts a row and holds the write lock for --hold-ms, as an intake
request does while it plans and writes. Latency is from entering the atomic block to its commit. *Queued*: this
project's backend; *SQLite's own wait*: the same backend with the queue off, so writers wait in SQLite's busy
handler (the baseline). The idle cost of the queue: single transactions without contention, both ways.
"""

import argparse
import datetime
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import OUT, markdown_table
from bench.run import machine

DB = OUT / "bench_sqlite_writers.sqlite3"
QUEUED, OWN = "queued", "SQLite's own wait"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def drive(clients: int, seconds: float, hold: float) -> dict:
    from django.db import connection, transaction

    latencies: list[list[float]] = [[] for _ in range(clients)]
    stop = time.monotonic() + seconds

    def client(c: int) -> None:
        try:
            while time.monotonic() < stop:
                started = time.perf_counter()
                with transaction.atomic():
                    with connection.cursor() as cursor:
                        cursor.execute("INSERT INTO bench_writes (client) VALUES (%s)", [c])
                    time.sleep(hold)
                latencies[c].append((time.perf_counter() - started) * 1000)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [ms for per in latencies for ms in per]
    return {
        "transactions": len(every),
        "per_second": len(every) / seconds,
        "p50": statistics.median(every),
        "p95": percentile(every, 0.95),
        "p99": percentile(every, 0.99),
        "max": max(every),
        "slowest_client": min(len(per) for per in latencies),
        "fastest_client": max(len(per) for per in latencies),
    }


def idle_cost(n: int = 3000) -> float:
    from django.db import connection, transaction

    started = time.perf_counter()
    for i in range(n):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_writes (client) VALUES (%s)", [-i])
    return (time.perf_counter() - started) / n * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--hold-ms", type=float, default=5.0)
    parser.add_argument("--clients", default="1,10,50")
    parser.add_argument("--sizes", default="", help="ignored (bench/run.py passes it to every bench)")
    args, _rest = parser.parse_known_args()
    OUT.mkdir(parents=True, exist_ok=True)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    for suffix in ("", "-wal", "-shm", "-writers"):
        Path(f"{DB}{suffix}").unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{DB}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    from django.db import connection

    from core.backends.sqlite3 import base

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_writes (id INTEGER PRIMARY KEY, client INTEGER)")
    queued_writer = base.DatabaseWrapper._writer_queue

    def unqueued(self):
        return None

    rows = []
    idle = {}
    for label, queue in ((QUEUED, queued_writer), (OWN, unqueued)):
        base.DatabaseWrapper._writer_queue = queue
        connection.close()
        idle[label] = idle_cost()
        connection.close()
    for clients in [int(c) for c in args.clients.split(",")]:
        for label, queue in ((QUEUED, queued_writer), (OWN, unqueued)):
            base.DatabaseWrapper._writer_queue = queue
            r = drive(clients, args.seconds, args.hold_ms / 1000)
            print(f"{clients} clients, {label}: {r}", file=sys.stderr)
            rows.append(
                [
                    clients,
                    label,
                    f"{r['transactions']:,}",
                    f"{r['per_second']:.1f}",
                    r["p50"],
                    r["p95"],
                    r["p99"],
                    r["max"],
                    f"{r['slowest_client']}-{r['fastest_client']}",
                ]
            )
    base.DatabaseWrapper._writer_queue = queued_writer
    for suffix in ("", "-wal", "-shm", "-writers"):
        Path(f"{DB}{suffix}").unlink(missing_ok=True)
    print("## SQLite writers: first come, first served (bench/bench_sqlite_writers.py)\n")
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"Run on {now}; machine: {machine()}; load average before the run: {load}.\n")
    print(
        f"Threads with a connection each write in a closed loop for {args.seconds:.0f} s per run; each transaction "
        f"inserts a row and holds the write lock {args.hold_ms:.0f} ms. *Queued*: core.backends.sqlite3's queue; "
        "*SQLite's own wait*: its busy handler, the same run. Latency from entering the atomic block to the commit, "
        "in ms; the last column is the fewest and the most transactions one client got done.\n"
    )
    headers = ["clients", "writers wait", "transactions", "per second", "p50", "p95", "p99", "max", "per client"]
    print(markdown_table(headers, rows))
    print(
        f"\nOne transaction without contention (3,000 in a row): {idle[QUEUED]:.0f} us queued, "
        f"{idle[OWN]:.0f} us without the queue.\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
