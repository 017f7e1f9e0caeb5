"""The SLA schedule running in a real `manage.py db_worker` against a SQLite file: started once, it reminds the
agent of an untouched lead, and keeps running every SLA_CHECK_MINUTES (here 0.02, 1.2 seconds).

The processes read the machine's clock (which CI may move): the lead was assigned long ago, and nothing here
compares times with this process's frozen clock.
"""

import sqlite3
import subprocess
import sys

import pytest

from leads.tests import test_import_workers as workers
from leads.tests.test_import_workers import ROOT, wait_for

environment, db_worker = workers.environment, workers.db_worker

pytestmark = pytest.mark.concurrency

SETUP = """
from datetime import UTC, datetime
from decimal import Decimal
from agents.models import Agent
from leads.models import AssignmentRun, Lead, LeadAssignment, SlaPolicy
long_ago = datetime(2015, 3, 2, 9, tzinfo=UTC)
agent = Agent.objects.create(name="Ann Agent", email="ann@sales.test")
lead = Lead.objects.create(name="Jo Ng", email="jo@example.org", created_at=long_ago, assigned_agent=agent)
Lead.objects.filter(pk=lead.pk).update(assigned_at=long_ago)
run = AssignmentRun.objects.create(source="command", action="assign", as_of=long_ago)
LeadAssignment.objects.create(lead=lead, to_agent=agent, run=run, reason="assigned", changed_at=long_ago)
SlaPolicy.objects.create(remind_at_hours=Decimal(1))
"""


def rows(database, sql):
    with sqlite3.connect(database, timeout=30) as db:
        return db.execute(sql).fetchall()


def test_a_db_worker_runs_the_sla_on_its_schedule(environment, db_worker):
    database, env = environment(TASKS_BACKEND="database", SLA_CHECK_MINUTES="0.02")
    setup = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SETUP], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert setup.returncode == 0, setup.stderr
    started = subprocess.run(
        [sys.executable, "manage.py", "start_sla_schedule"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert started.returncode == 0, started.stderr
    assert "SLA schedule started" in started.stdout
    again = subprocess.run(
        [sys.executable, "manage.py", "start_sla_schedule"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert "already running" in again.stdout

    db_worker(env)
    reminders = wait_for(
        lambda: rows(database, "SELECT kind, \"to\" FROM leads_notification WHERE kind = 'sla-reminder'"),
        60,
        "the scheduled SLA run's reminder",
    )
    assert reminders == [("sla-reminder", "ann@sales.test")]
    # It goes on: later runs find nothing more to do (the reminder is never repeated) and queue the next one.
    first = rows(database, "SELECT last_run_at FROM leads_schedule WHERE name = 'enforce_sla'")[0][0]
    wait_for(
        lambda: rows(database, "SELECT last_run_at FROM leads_schedule WHERE name = 'enforce_sla'")[0][0] != first,
        60,
        "a second scheduled run",
    )
    assert rows(database, "SELECT COUNT(*) FROM leads_notification WHERE kind = 'sla-reminder'") == [(1,)]
    pending = rows(
        database,
        "SELECT COUNT(*) FROM django_tasks_database_dbtaskresult "
        "WHERE task_path LIKE '%enforce_sla_on_schedule' AND status IN ('READY', 'RUNNING')",
    )
    assert pending[0][0] >= 1  # the next run is queued
