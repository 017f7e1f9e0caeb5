"""Notification emails sent by real processes against a file-based SQLite database: `manage.py db_worker`
(TASKS_BACKEND=database) picks up the job that a separate process queued when its assignment committed and
delivers the emails through the file backend (EMAIL_URL=file:///folder); `manage.py send_notifications` sends
what is pending to an SMTP server (a small one in this process, EMAIL_URL=smtp://127.0.0.1:PORT).

The processes read the machine's clock (which CI may move): the leads are dated long ago, and nothing here
compares their times with this process's frozen clock.
"""

import json
import socketserver
import sqlite3
import subprocess
import sys
import threading
from email import message_from_bytes, message_from_string

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


class SMTPSink(socketserver.ThreadingTCPServer):
    """A tiny SMTP server on a free port of 127.0.0.1 that keeps what it receives (or refuses every recipient)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *, refuse: bool = False):
        self.messages: list[bytes] = []
        self.refuse = refuse
        super().__init__(("127.0.0.1", 0), SMTPSession)
        self.thread = threading.Thread(target=self.serve_forever, name="smtp-sink", daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.server_address[1]}/?timeout=10"

    def close(self):
        self.shutdown()
        self.server_close()


class SMTPSession(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        self.reply("220 sink ready")
        data = None
        while line := self.rfile.readline():
            if data is not None:
                if line.rstrip(b"\r\n") == b".":
                    self.server.messages.append(b"".join(data))
                    data = None
                    self.reply("250 queued")
                else:
                    data.append(line)
                continue
            command = line.strip().upper()
            if command.startswith((b"EHLO", b"HELO")):
                self.reply("250 sink")
            elif command.startswith(b"RCPT") and self.server.refuse:
                self.reply("550 mailbox unavailable")
            elif command == b"DATA":
                data = []
                self.reply("354 end with a dot")
            elif command == b"QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


@pytest.fixture
def smtp_sink():
    sinks = []

    def make(**kwargs):
        sinks.append(SMTPSink(**kwargs))
        return sinks[-1]

    yield make
    for sink in sinks:
        sink.close()


def send_command(env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "send_notifications", "--json"], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_send_notifications_delivers_pending_emails_to_an_smtp_server(environment, smtp_sink):
    sink = smtp_sink()
    database, env = environment(TASKS_BACKEND="database", EMAIL_URL=sink.url, DEFAULT_FROM_EMAIL="crm@example.org")
    queued = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", ASSIGN], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert queued.returncode == 0, queued.stderr  # the jobs wait in the queue: no worker runs in this test
    sent = send_command(env)
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout) == {"sent": 2, "retrying": 0, "failed": 0}
    emails = [message_from_bytes(m) for m in sink.messages]
    assert sorted(m["Subject"] for m in emails) == ["2 new leads assigned to you", "New lead: Jo Ng"]
    assert {(m["From"], m["To"]) for m in emails} == {("crm@example.org", "ann@sales.test")}
    assert notifications(database) == [("arrival", "sent", 1, 1), ("digest", "sent", 1, 2)]
    assert json.loads(send_command(env).stdout)["sent"] == 0  # nothing is sent twice
    assert len(sink.messages) == 2


def test_an_smtp_server_that_refuses_leaves_the_emails_pending_with_its_answer(environment, smtp_sink):
    sink = smtp_sink(refuse=True)
    database, env = environment(TASKS_BACKEND="database", EMAIL_URL=sink.url)
    queued = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", ASSIGN], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert queued.returncode == 0, queued.stderr
    refused = send_command(env)
    assert refused.returncode == 1
    assert json.loads(refused.stdout) == {"sent": 0, "retrying": 2, "failed": 0}
    assert notifications(database) == [("arrival", "pending", 1, 1), ("digest", "pending", 1, 2)]
    with sqlite3.connect(database, timeout=30) as db:
        errors = {row[0] for row in db.execute("SELECT last_error FROM leads_notification")}
    assert len(errors) == 1 and "550" in errors.pop()
    assert sink.messages == []
