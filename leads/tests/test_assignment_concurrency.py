"""Two real `manage.py assign_leads` processes at the same time never give a lead twice or unbalance loads.

The test holds the assignment lock itself while it starts both processes, so that both are ready and
waiting on it when it is released: they then race for real. One places the fresh leads, the other the
stale ones; each must read the loads left by the other, or the final spread goes above 1. On PostgreSQL and
MariaDB the same race is also run between a command and the admin action.
"""

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

from leads.assignment import lock_assignments

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
AGENTS = [("Busy", "busy@sales.test", 10), ("Idle One", "one@sales.test", 0), ("Idle Two", "two@sales.test", 0)]
FRESH, STALE = 400, 170  # fresh: 1 day old; stale: 60 days old, contacted


def lead_rows():
    rows = []
    for i in range(FRESH):
        rows.append((f"fresh{i}", "new", NOW - timedelta(days=1, minutes=i), None))
    for i in range(STALE):
        rows.append((f"stale{i}", "contacted", NOW - timedelta(days=60, minutes=i), None))
    for i in range(AGENTS[0][2]):
        rows.append((f"held{i}", "qualified", NOW - timedelta(days=10), "busy@sales.test"))
    return rows


def seed_with_sql(db: sqlite3.Connection):
    stamp = NOW.strftime("%Y-%m-%d %H:%M:%S")
    db.executemany(
        "INSERT INTO agents_agent (name, email, is_active, capacity, created_at, updated_at) "
        "VALUES (?, ?, 1, NULL, ?, ?)",
        [(name, email, stamp, stamp) for name, email, _ in AGENTS],
    )
    ids = dict(db.execute("SELECT email, id FROM agents_agent"))
    db.executemany(
        "INSERT INTO leads_lead (name, name_key, email, phone, company, source, status, created_at, "
        "assigned_agent_id, assigned_at, added_at, updated_at) VALUES (?, ?, ?, '', '', '', ?, ?, ?, NULL, ?, ?)",
        [
            (
                name,
                name,
                f"{name}@example.org",
                status,
                created.strftime("%Y-%m-%d %H:%M:%S"),
                ids.get(agent),
                stamp,
                stamp,
            )
            for name, status, created, agent in lead_rows()
        ],
    )
    db.commit()


def seed_with_orm():
    from agents.models import Agent
    from leads.models import Lead

    agents = {email: Agent.objects.create(name=name, email=email) for name, email, _ in AGENTS}
    Lead.objects.bulk_create(
        Lead(
            name=name,
            name_key=name,
            email=f"{name}@example.org",
            status=status,
            created_at=created,
            assigned_agent=agents.get(agent),
        )
        for name, status, created, agent in lead_rows()
    )


def start(url: str, *args) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.Popen(
        [sys.executable, "manage.py", "assign_leads", "--json", "--as-of", NOW.isoformat(), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def race(url: str, hold_lock) -> list[dict]:
    """Start both runs while hold_lock() keeps the lock, give them time to block on it, then release."""
    with hold_lock():
        procs = [
            start(url, "--seed", "1", "--classification", "fresh"),
            start(url, "--seed", "2", "--classification", "stale"),
        ]
        time.sleep(4)
        assert all(p.poll() is None for p in procs), "a run did not wait for the assignment lock"
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        results.append(json.loads(out))
    return results


def check(results, rows: list[tuple], loads: dict[str, int]):
    """rows: (lead id, agent id, number of `assigned` audit rows) for every lead."""
    assert sum(r["assigned"] for r in results) == FRESH + STALE
    assert sorted(r["assigned"] for r in results) == sorted([FRESH, STALE])
    assert all(agent is not None for _, agent, _ in rows)
    assert sum(audits for _, _, audits in rows) == FRESH + STALE, "a lead was given twice"
    assert max(audits for _, _, audits in rows) == 1, "a lead was given twice"
    assert max(loads.values()) - min(loads.values()) <= 1, f"unbalanced: {loads}"


def test_two_processes_on_a_sqlite_file_never_give_a_lead_twice(tmp_path):
    path = tmp_path / "race.sqlite3"
    url = f"sqlite:///{path}"
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
    )
    assert migrate.returncode == 0, migrate.stderr
    db = sqlite3.connect(path, isolation_level=None, timeout=30)
    db.execute("BEGIN")
    seed_with_sql(db)

    class sqlite_write_lock:
        def __enter__(self):
            db.execute("BEGIN IMMEDIATE")

        def __exit__(self, *exc):
            db.execute("COMMIT")

    results = race(url, sqlite_write_lock)
    rows = db.execute(
        "SELECT l.id, l.assigned_agent_id, (SELECT COUNT(*) FROM leads_leadassignment h WHERE h.lead_id = l.id) "
        "FROM leads_lead l"
    ).fetchall()
    loads = dict(
        db.execute(
            "SELECT a.email, COUNT(l.id) FROM agents_agent a "
            "LEFT JOIN leads_lead l ON l.assigned_agent_id = a.id GROUP BY a.email"
        )
    )
    assert db.execute("SELECT COUNT(*) FROM leads_assignmentrun").fetchone() == (2,)
    db.close()
    check(results, rows, loads)


server_only = pytest.mark.skipif(
    connection.vendor == "sqlite", reason="needs a server database: run with DATABASE_URL=postgres/mysql"
)


class HeldLock:
    """Hold the assignment lock on the test's own connection (PostgreSQL advisory lock, MariaDB named lock)."""

    def __enter__(self):
        self.held = lock_assignments()
        self.held.__enter__()

    def __exit__(self, *exc):
        self.held.__exit__(None, None, None)


def server_url() -> str:
    """DATABASE_URL pointed at the test database, which a transactional test commits to."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


def server_state():
    from django.db.models import Count

    from agents.models import Agent
    from leads.models import Lead

    rows = list(Lead.objects.annotate(n=Count("assignment_history")).values_list("id", "assigned_agent_id", "n"))
    loads = dict(Agent.objects.annotate(n=Count("leads")).values_list("email", "n"))
    return rows, loads


@server_only
def test_two_processes_on_the_server_database_never_give_a_lead_twice():
    from leads.models import AssignmentRun

    seed_with_orm()
    results = race(server_url(), HeldLock)
    assert AssignmentRun.objects.count() == 2
    check(results, *server_state())


@server_only
def test_a_command_and_an_admin_action_at_the_same_time_never_give_a_lead_twice():
    from django.contrib.auth.models import User
    from django.db import connection as thread_connection
    from django.test import Client
    from django.urls import reverse

    from leads.models import AssignmentRun, Lead

    seed_with_orm()
    boss = User.objects.create_superuser("boss", "boss@sales.test", "pw")
    fresh = [str(pk) for pk in Lead.objects.filter(name__startswith="fresh").values_list("id", flat=True)]
    statuses = []

    def admin_action():  # runs in its own thread, so on its own database connection
        try:
            client = Client()
            client.force_login(boss)
            response = client.post(
                reverse("admin:leads_lead_changelist"), {"action": "assign_evenly", "_selected_action": fresh}
            )
            statuses.append(response.status_code)
        finally:
            thread_connection.close()

    with HeldLock():
        command = start(server_url(), "--seed", "2", "--classification", "stale")
        action = threading.Thread(target=admin_action)
        action.start()
        time.sleep(4)
        assert command.poll() is None and action.is_alive(), "a run did not wait for the assignment lock"
    out, err = command.communicate(timeout=120)
    action.join(timeout=120)
    assert command.returncode == 0, err
    assert statuses == [302]
    runs = {run.source: run for run in AssignmentRun.objects.all()}
    assert (runs["admin"].assigned, runs["command"].assigned, json.loads(out)["assigned"]) == (FRESH, STALE, STALE)
    check([{"assigned": FRESH}, {"assigned": STALE}], *server_state())
