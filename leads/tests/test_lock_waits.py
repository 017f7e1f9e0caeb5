"""A long writer holding SQLite's write lock never makes the others fail with a traceback or a 500.

A real SQLite file, real processes: the test holds the write lock itself (BEGIN IMMEDIATE on its own
connection) for longer than the commands wait (SQLITE_BUSY_TIMEOUT=1), like a long import would.
"""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from leads.tests.test_assignment_concurrency import NOW, seed_with_sql

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.concurrency


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "db.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}", "SQLITE_BUSY_TIMEOUT": "1"}
    migrate = subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, capture_output=True)
    assert migrate.returncode == 0, migrate.stderr
    db = sqlite3.connect(path, isolation_level=None, timeout=30)
    db.execute("BEGIN")
    seed_with_sql(db)
    yield env, db
    db.close()


class write_lock:
    def __init__(self, db):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, *exc):
        self.db.execute("ROLLBACK")


def manage(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_a_verification_reads_and_reports_while_a_long_writer_holds_the_lock(database):
    env, db = database
    with write_lock(db):
        process = manage(env, "verify_assignments", "--json", "--as-of", NOW.isoformat())
    assert "Traceback" not in process.stderr
    assert process.returncode == 1  # the leads are not assigned yet: the checks ran and said so
    assert json.loads(process.stdout)["unassigned"] == 570
    assert process.stderr.splitlines()[0].startswith("Not recorded: The database is busy")
    assert db.execute("SELECT COUNT(*) FROM leads_verificationrun").fetchone() == (0,)
    # Without a writer in the way the same verification is recorded.
    process = manage(env, "verify_assignments", "--json", "--as-of", NOW.isoformat())
    assert process.returncode == 1 and process.stderr.strip() == "CommandError: Verification failed: 2 problems."
    assert db.execute("SELECT COUNT(*) FROM leads_verificationrun").fetchone() == (1,)


def test_a_command_that_cannot_get_the_lock_in_time_says_so_in_one_line(database):
    env, db = database
    with write_lock(db):
        process = manage(env, "assign_leads", "--seed", "1", "--as-of", NOW.isoformat())
    assert process.returncode == 75
    assert process.stderr.strip() == (
        "CommandError: The database is busy: another write held its lock for more than 1 s. "
        "Nothing was written; try again."
    )
    assert db.execute("SELECT COUNT(*) FROM leads_lead WHERE assigned_agent_id IS NOT NULL").fetchone() == (10,)
    assert db.execute("SELECT COUNT(*) FROM leads_assignmentrun").fetchone() == (0,)


ADMIN_SCRIPT = """
import django, sys
django.setup()
from django.test.utils import setup_test_environment
setup_test_environment()
from django.contrib.auth.models import User
from django.test import Client
client = Client()
client.force_login(User.objects.create_superuser("boss", "boss@sales.test", "pw"))
print("ready", flush=True)
sys.stdin.readline()  # the test now holds the write lock
response = client.post("/admin/lead-overview/verify/")
page = client.get("/admin/lead-overview/")
print(response.status_code, page.status_code, flush=True)
print(" | ".join(str(m) for m in page.context["messages"]), flush=True)
"""


def run_while_locked(env, db, source: str) -> str:
    """Run an admin script that prints "ready", then waits for a line while the test holds the write lock;
    return what it printed next."""
    script = subprocess.Popen(
        [sys.executable, "-c", source],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "crm.settings"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert script.stdout.readline().strip() == "ready", script.stderr.read()
    with write_lock(db):
        out, err = script.communicate("go\n", timeout=300)
    assert script.returncode == 0, err
    return out


def test_the_admin_verify_button_shows_a_message_instead_of_a_500(database):
    env, db = database
    out = run_while_locked(env, db, ADMIN_SCRIPT)
    statuses, messages = out.splitlines()
    assert statuses == "302 200"
    assert messages.startswith("Assignments verified: 570 open leads are not assigned to any agent.")
    assert "Not recorded: The database is busy: another write held its lock for more than 1 s." in messages


ADMIN_WRITES_SCRIPT = """
import django, json, sys
django.setup()
from django.test.utils import setup_test_environment
setup_test_environment()
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from agents.models import Agent
from leads.models import Lead
client = Client()
client.force_login(User.objects.create_superuser("boss", "boss@sales.test", "pw"))
upload = SimpleUploadedFile("leads.csv", b"name,email,status,created\\nNew Lead,new.lead@example.org,new,2026-11-01\\n")
token = client.post("/admin/leads/lead/import/", {"import_file": upload}, follow=True).context["token"]
leads = [str(pk) for pk in Lead.objects.values_list("id", flat=True)]
held = [str(pk) for pk in Lead.objects.filter(assigned_agent__isnull=False).values_list("id", flat=True)]
agents = [str(pk) for pk in Agent.objects.values_list("id", flat=True)]
print("ready", flush=True)
sys.stdin.readline()  # the test now holds the write lock
posts = {
    "confirm import": ("/admin/leads/lead/process_import/", {"token": token, "dayfirst": ""}),
    "preview import": ("/admin/leads/lead/import/",
                       {"import_file": SimpleUploadedFile("again.csv", upload.open().read())}),
    "assign evenly": ("/admin/leads/lead/", {"action": "assign_evenly", "_selected_action": leads}),
    "assign to agent": ("/admin/leads/lead/", {"action": "assign_to_one_agent", "_selected_action": leads,
                                               "post": "yes", "agent": agents[1]}),
    "unassign": ("/admin/leads/lead/", {"action": "unassign", "_selected_action": held}),
    "activate": ("/admin/agents/agent/", {"action": "activate", "_selected_action": agents}),
    "deactivate": ("/admin/agents/agent/", {"action": "deactivate", "_selected_action": agents}),
}
out = {}
for name, (url, data) in posts.items():
    response = client.post(url, data, follow=True)
    errors = ([str(e) for e in response.context["form"].errors.get("import_file", [])]
              if name == "preview import" else [])
    out[name] = [response.redirect_chain[0][1] if response.redirect_chain else response.status_code,
                 [str(m) for m in response.context["messages"]] + errors]
print(json.dumps(out), flush=True)
"""

BUSY = "The database is busy: another write held its lock for more than 1 s. Nothing was written; try again."


def test_the_admin_import_and_assignment_actions_show_a_message_instead_of_a_500(database):
    env, db = database
    before = db.execute("SELECT id, assigned_agent_id, assigned_at, updated_at FROM leads_lead ORDER BY id").fetchall()
    agents = db.execute("SELECT id, is_active, updated_at FROM agents_agent ORDER BY id").fetchall()
    out = run_while_locked(env, db, ADMIN_WRITES_SCRIPT)
    assert json.loads(out) == {
        "confirm import": [302, [f"Not imported. {BUSY}"]],
        "preview import": [200, [BUSY]],
        "assign evenly": [302, [f"Nothing was assigned. {BUSY}"]],
        "assign to agent": [302, [f"Nothing was assigned. {BUSY}"]],
        "unassign": [302, [f"Nothing was unassigned. {BUSY}"]],
        "activate": [302, [f"No agent was activated. {BUSY}"]],
        "deactivate": [302, [f"No agent was deactivated. {BUSY}"]],
    }
    assert (
        db.execute("SELECT id, assigned_agent_id, assigned_at, updated_at FROM leads_lead ORDER BY id").fetchall()
        == before
    )
    assert db.execute("SELECT id, is_active, updated_at FROM agents_agent ORDER BY id").fetchall() == agents
    assert db.execute("SELECT COUNT(*) FROM leads_assignmentrun").fetchone() == (0,)


API_SCRIPT = """
import django, json, sys
django.setup()
from django.test.utils import setup_test_environment
setup_test_environment()
from django.test import Client
from leads.models import ApiKey
key = ApiKey.issue(name="Web form")[1]
client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {key}")
print("ready", flush=True)
sys.stdin.readline()  # the test now holds the write lock
out = {}
for name, (method, path, body) in {
    "lookup": ("get", "/api/v1/leads?email=nobody@example.org", None),
    "post": ("post", "/api/v1/leads", {"email": "new@example.org", "name": "New"}),
    "batch": ("post", "/api/v1/leads/batch", {"leads": [{"email": "new@example.org", "name": "New"}]}),
}.items():
    if body is None:
        response = getattr(client, method)(path)
    else:
        response = getattr(client, method)(path, json.dumps(body), content_type="application/json")
    json_body = response["Content-Type"].startswith("application/json")
    answer = response.json() if json_body else response.content.decode()[:200]
    out[name] = [response.status_code, response.get("Retry-After"), response["Content-Type"], answer]
print(json.dumps(out), flush=True)
"""


def test_an_api_request_whose_key_cannot_be_counted_in_time_gets_503_with_retry_after(database):
    env, db = database
    out = run_while_locked(env, db, API_SCRIPT)
    busy = [503, "5", "application/json; charset=utf-8", {"detail": BUSY}]
    assert json.loads(out) == {"lookup": busy, "post": busy, "batch": busy}
    assert db.execute("SELECT requests FROM leads_apikey").fetchall() == [(0,)]
    assert db.execute("SELECT COUNT(*) FROM leads_lead WHERE email = 'new@example.org'").fetchone() == (0,)
