"""The intake API over real HTTP against a live server, and 50 clients posting at once.

Run on a server database too: DATABASE_URL=postgres://... or mysql://... (README, Development). The contract is
checked against pytest-django's live server. The races run against a server process of their own (Django's
threaded WSGI server, with a listen queue long enough for 50 clients connecting at once: the live server's and
runserver's reset the connections beyond 10), each request on its own connection: on a server database the test
database, which the transactional tests commit to; on SQLite a migrated file (the live server would share the
test's in-memory database, one connection for every thread).
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

from agents.tests.factories import AgentFactory
from leads.models import ApiKey

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]
CLIENTS = 50
ROOT = Path(__file__).resolve().parents[2]


def call(url: str, *, key: str | None = None, body=None, method: str | None = None, raw: bytes | None = None):
    """(status, headers, JSON body or text) of one real HTTP request."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method or ("POST" if data is not None else "GET"))
    request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, headers, text = response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        status, headers, text = error.code, error.headers, error.read().decode()
    try:
        return status, headers, json.loads(text)
    except ValueError:
        return status, headers, text


@pytest.fixture
def key():
    return ApiKey.issue(name="Race", source="race")[1]


@pytest.fixture
def agents():
    return [AgentFactory(email=f"agent{i}@sales.test") for i in range(3)]


def at_once(task, count: int = CLIENTS):
    """Run task(i) in `count` threads released together; their results in order."""
    barrier = threading.Barrier(count)

    def run(i):
        barrier.wait()
        return task(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_the_contract_holds_over_http(live_server, key, agents, settings):
    base = f"{live_server.url}/api/v1"
    status, _, body = call(f"{base}/leads", key=key, body={"email": "Jo@Example.org", "name": "Jo"})
    assert status == 201
    assert body["result"] == "created" and body["agent"] in {a.email for a in agents}
    status, _, again = call(f"{base}/leads", key=key, body={"email": "jo@example.org", "company": "Acme"})
    assert (status, again["result"], again["agent"]) == (200, "updated", body["agent"])
    status, _, found = call(f"{base}/leads?email=jo@example.org", key=key)
    assert (status, found["id"], found["company"], found["source"]) == (200, body["id"], "Acme", "race")
    assert call(f"{base}/leads/{body['id']}", key=key)[2] == found
    assert call(f"{base}/leads", body={"email": "x@y.org"})[0] == 401
    assert call(f"{base}/leads", key=key, raw=b"{oops")[0] == 400
    status, _, errors = call(f"{base}/leads", key=key, body={"email": "x@y.org", "name": 7})
    assert (status, errors) == (422, {"errors": [{"field": "name", "message": "must be a string, not a number"}]})
    status, _, _text = call(f"{base}/leads", key=key, raw=b" " * (settings.API_MAX_BODY_KB * 1024 + 1))
    assert status == 413
    status, _, batch = call(
        f"{base}/leads/batch", key=key, body={"leads": [{"email": "b@y.org", "name": "B"}, {"email": "bad"}]}
    )
    assert (status, batch["created"], [r["index"] for r in batch["rejected"]]) == (200, 1, [1])


def test_a_key_above_its_rate_gets_429_with_retry_after(live_server, key, settings):
    settings.API_RATE_LIMIT = 2
    url = f"{live_server.url}/api/v1/leads?email=no@y.org"
    statuses = [call(url, key=key)[0] for _ in range(2)]
    status, headers, _ = call(url, key=key)
    if status == 404:  # the minute turned between the requests (the clock ticks here): one more
        status, headers, _ = call(url, key=key)
    assert statuses == [404, 404]
    assert status == 429
    assert 1 <= int(headers["Retry-After"]) <= 60


def test_the_docs_work_offline(live_server):
    status, _, page = call(f"{live_server.url}/api/v1/docs")
    assert status == 200 and "/static/ninja/swagger-ui-bundle.js" in page
    with urllib.request.urlopen(f"{live_server.url}/static/ninja/swagger-ui-bundle.js", timeout=30) as response:
        assert response.status == 200 and b"SwaggerUIBundle" in response.read()
    assert call(f"{live_server.url}/api/v1/openapi.json")[2]["info"]["title"] == "CRM intake API"


# ---------------------------------------------------------------------------------------------------------
# The races, against a real server process


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _manage(env, *args) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


# runserver's threaded server, with room for 50 clients connecting at once (runserver queues 10 and resets the rest).
SERVE = """
import os, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
django.setup()
from django.core.servers.basehttp import WSGIServer, run
from django.core.wsgi import get_wsgi_application
class Server(WSGIServer):
    request_queue_size = 128
run("127.0.0.1", int(sys.argv[1]), get_wsgi_application(), threading=True, server_cls=Server)
"""


def _database_url(tmp_path) -> str:
    if connection.vendor == "sqlite":
        return f"sqlite:///{tmp_path / 'race.sqlite3'}"
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


@pytest.fixture
def server(tmp_path):
    """The sample agents and a key in the database, served by Django's threaded WSGI server in a process:
    (API base URL, key, the environment of manage.py commands on the same database)."""
    env = {**os.environ, "DEBUG": "1", "DATABASE_URL": _database_url(tmp_path), "LOG_LEVEL": "ERROR"}
    if connection.vendor == "sqlite":
        _manage(env, "migrate", "--noinput", "-v0")
    _manage(env, "import_agents", str(ROOT / "fixtures" / "agents.csv"))
    key = json.loads(_manage(env, "create_api_key", "Race", "--json"))["key"]
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVE, str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/api/v1", key, env
    finally:
        server.terminate()
        server.wait(timeout=30)


STATE = """
import json
from django.db.models import Count
from leads.models import ApiKey, Lead, LeadAssignment
from leads.verification import verify_assignments
from core import clock
report = verify_assignments(as_of=clock.now())
print(json.dumps({
    "leads": Lead.objects.count(),
    "assigned": Lead.objects.filter(assigned_agent__isnull=False).count(),
    "changes": LeadAssignment.objects.count(),
    "leads_changed": LeadAssignment.objects.order_by().values("lead").distinct().count(),
    "changed_twice": Lead.objects.annotate(n=Count("assignment_history")).filter(n__gt=1).count(),
    "requests": list(ApiKey.objects.values_list("requests", "window_requests")),
    "ok": report.ok,
    "counters_ok": report.counters_ok,
    "problems": report.problems,
}))
"""


def state(env) -> dict:
    """The database as the server left it, read by a process of its own (the same settings as the server)."""
    return json.loads(_manage(env, "shell", "-v0", "-c", STATE))


def test_fifty_clients_posting_one_email_create_one_lead_assigned_once(server):
    base, key, env = server
    answers = at_once(lambda i: call(f"{base}/leads", key=key, body={"email": "race@example.org", "name": f"R {i}"}))
    assert sorted(status for status, _, _ in answers) == [200] * (CLIENTS - 1) + [201], answers
    assert len({body["id"] for _, _, body in answers}) == 1
    assert len({body["agent"] for _, _, body in answers}) == 1
    seen = state(env)
    assert (seen["leads"], seen["assigned"], seen["changes"]) == (1, 1, 1)
    assert seen["ok"] and seen["counters_ok"], seen["problems"]


def test_fifty_clients_posting_new_leads_at_once_leave_the_team_balanced(server):
    base, key, env = server
    answers = at_once(lambda i: call(f"{base}/leads", key=key, body={"email": f"lead{i}@example.org", "name": f"L{i}"}))
    assert [status for status, _, _ in answers] == [201] * CLIENTS, answers
    seen = state(env)
    assert (seen["leads"], seen["assigned"], seen["changes"], seen["leads_changed"]) == (50, 50, 50, 50)
    assert seen["changed_twice"] == 0
    # Every request counted once on the key, in one clock minute or across two (a window that turned meanwhile).
    [(requests, in_window)] = seen["requests"]
    assert requests == CLIENTS and 0 < in_window <= CLIENTS
    assert seen["ok"] and seen["counters_ok"], seen["problems"]  # balanced: spread at most 1, nobody above capacity


def test_fifty_clients_posting_overlapping_batches_never_duplicate_a_lead(server):
    base, key, env = server

    def post(i):
        # Each batch shares half its emails with the next client's.
        leads = [{"email": f"shared{(i * 5 + j) % 120}@example.org", "name": f"S {i} {j}"} for j in range(10)]
        return call(f"{base}/leads/batch", key=key, body={"leads": leads})

    answers = at_once(post)
    assert {status for status, _, _ in answers} == {200}, answers
    assert sum(body["created"] for _, _, body in answers) == 120
    seen = state(env)
    assert (seen["leads"], seen["assigned"], seen["changes"], seen["changed_twice"]) == (120, 120, 120, 0)
    assert seen["ok"] and seen["counters_ok"], seen["problems"]
