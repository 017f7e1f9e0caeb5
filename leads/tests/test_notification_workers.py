"""Notification emails sent by a real job worker: `manage.py db_worker` (TASKS_BACKEND=database) picks up the job
that a separate process queued when its assignment committed, and delivers the emails through the file backend
(EMAIL_URL=file:///folder), against a file-based SQLite database.

The processes read the machine's clock (which CI may move): the leads are dated long ago, and nothing here
compares their times with this process's frozen clock.
"""

import sqlite3
import subprocess
import sys
from email import message_from_string

import pytest

from leads.tests import test_import_workers as workers
from leads.tests.test_import_workers import ROOT, stop, wait_for

# The import workers' fixtures: a migrated SQLite file with its environment, and db_worker processes.
environment, db_worker = workers.environment, workers.db_worker

pytestmark = pytest.mark.concurrency

ASSIGN = """
from datetime import UTC, datetime
from agents.models import Agent
from core import clock
from leads.assignment import assign_leads
from leads.intake import intake_leads
from leads.models import Lead
Agent.objects.create(name="Ann Agent", email="ann@sales.test")
intake_leads(leads=[{"email": "jo@example.org", "name": "Jo Ng", "created_at": "2015-03-01"}], as_of=clock.now())
Lead.objects.create(name="Old Lead", email="old@example.org", created_at=datetime(2015, 1, 1, tzinfo=UTC))
Lead.objects.create(name="Older Lead", email="older@example.org", created_at=datetime(2014, 1, 1, tzinfo=UTC))
print(assign_leads(seed=1, as_of=clock.now()).assigned)
"""


def notifications(database) -> list[tuple]:
    with sqlite3.connect(database, timeout=30) as db:
        return db.execute("SELECT kind, status, attempts, leads_count FROM leads_notification ORDER BY id").fetchall()


def test_a_db_worker_sends_the_emails_queued_when_the_assignments_committed(environment, db_worker, tmp_path):
    outbox = tmp_path / "mail"
    database, env = environment(
        TASKS_BACKEND="database", EMAIL_URL=f"file://{outbox}", SITE_URL="https://crm.example.org"
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", ASSIGN], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "2"
    assert notifications(database) == [("arrival", "pending", 0, 1), ("digest", "pending", 0, 2)]
    assert not outbox.exists()  # queued, not sent: no worker has run yet

    worker = db_worker(env)
    wait_for(lambda: [row[1] for row in notifications(database)] == ["sent", "sent"], 60, "the emails to be sent")
    assert notifications(database) == [("arrival", "sent", 1, 1), ("digest", "sent", 1, 2)], stop(worker)
    text = "".join(path.read_text() for path in sorted(outbox.iterdir()))
    emails = [message_from_string(part) for part in text.split("-" * 79 + "\n") if part.strip()]
    assert sorted(m["Subject"] for m in emails) == ["2 new leads assigned to you", "New lead: Jo Ng"]
    assert {m["To"] for m in emails} == {"ann@sales.test"}
    assert "https://crm.example.org/admin/leads/lead/" in text
